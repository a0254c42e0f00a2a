import type { Browser, Page } from 'playwright-core';
import { type CliResult, tpSpawn } from './cli.ts';

/** What one `tp login --auth` run left: the command's result, the callback URLs the browser passed, the last page. */
export interface SsoCliRun {
  result: CliResult;
  callbacks: string[];
  landed: string | null;
}

/**
 * Runs the real `tp login --auth CONNECTOR` (no browser of its own), signs in with `signIn` in a fresh browser
 * context (a person's own browser), and returns when the command ended.
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
    const result = await run.done();
    const landed = await page.locator('body').textContent();
    return { result, callbacks, landed };
  } finally {
    await ctx.close();
  }
}
