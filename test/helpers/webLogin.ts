// Signing a user in to the web UI in Chromium, as the web UI e2e tests of the resource pages do for each user.
import type { Page } from 'playwright-core';
import type { TestBrowser } from './browser.ts';

/** Logs `user` in on the web UI at `base` through its login form; resolves once the page names the user. */
export async function logInAs(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').getByText(user).waitFor({ state: 'attached', timeout: 10_000 });
}

/**
 * A page in a context of its own (so cookies are `user`'s alone) of `viewport`, allowed the clipboard, whose console
 * errors and uncaught errors go to `b.errors`, with `user` logged in.
 */
export async function userPage(
  b: TestBrowser,
  base: string,
  user: string,
  password: string,
  viewport = { width: 1200, height: 800 },
): Promise<Page> {
  const ctx = await b.browser.newContext({ viewport });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => b.errors.push(`${page.url()}: uncaught ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') b.errors.push(`${m.text()} [${m.location().url}]`);
  });
  await logInAs(page, base, user, password);
  return page;
}
