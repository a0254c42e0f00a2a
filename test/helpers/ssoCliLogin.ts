import type { Browser, Page } from 'playwright-core';
import { type CliResult, tpSpawn } from './cli.ts';

/**
 * What one `tp login --auth` run left: the command's result, the callback URLs the browser passed, the text of
 * the proxy's confirmation page (null when the login failed before it), and the last page.
 */
export interface SsoCliRun {
  result: CliResult;
  callbacks: string[];
  confirmation: string | null;
  landed: string | null;
}

/** The button on the proxy's confirmation page that sends the answer on to the waiting client. */
export const CONTINUE = 'Continue to the tp client';

/**
 * Presses Continue on the proxy's confirmation page once it shows, and returns the page's text; null when the
 * command ended first (a login that failed before the confirmation).
 */
export async function confirmWhenAsked(page: Page, finished: Promise<unknown>): Promise<string | null> {
  const button = page.getByRole('button', { name: CONTINUE });
  const asked = await Promise.race([button.waitFor({ timeout: 15_000 }).then(() => true), finished.then(() => false)]);
  if (!asked) return null;
  const text = await page.locator('body').textContent();
  await button.click();
  return text;
}

/**
 * Runs the real `tp login --auth CONNECTOR` (no browser of its own), signs in with `signIn` in a fresh browser
 * context (a person's own browser), presses Continue on the proxy's confirmation page when it comes, and returns
 * when the command ended.
 */
export async function ssoCliLogin(o: {
  browser: Browser;
  proxy: string;
  connector: string;
  home: string;
  signIn: (page: Page, url: string) => Promise<void>;
}): Promise<SsoCliRun> {
  const run = tpSpawn(['login', '--auth', o.connector, '--proxy', o.proxy, '--insecure', '--browser', 'none'], {
    env: { TP_HOME: o.home },
  });
  const url = (await run.stderrMatch(/Open this URL to log in with \S+:\n\s+(\S+)/))[1]!;
  const ctx = await o.browser.newContext();
  try {
    const page = await ctx.newPage();
    const callbacks: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/webapi/sso/callback')) callbacks.push(r.url());
    });
    await o.signIn(page, url);
    const finished = run.done();
    const confirmation = await confirmWhenAsked(page, finished);
    const result = await finished;
    await page.waitForLoadState();
    const landed = await page.locator('body').textContent();
    return { result, callbacks, confirmation, landed };
  } finally {
    await ctx.close();
  }
}
