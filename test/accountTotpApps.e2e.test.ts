import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { totpCode } from '../core/auth/users.ts';
import { auditOf } from './helpers/audit.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';
import { me, PASSWORD } from './helpers/sshFixture.ts';

// The Account page with several authenticator apps, in headless Chromium: a second app added under a name of its
// own, a login with a code of it, and the first app removed (each change confirmed with a fresh code).
if (!haveChromium()) console.warn('SKIPPING the authenticator apps web test: /usr/bin/chromium is not installed');
const STEP = 30_000;
const code = (secret: string, offset = 0) => totpCode(secret, Date.now() + offset * STEP);

let c: TestCluster;
let b: TestBrowser;
let base: string;
let first: string;

beforeAll(async () => {
  c = await startTestCluster({ auth: { secondFactor: 'otp' } });
  base = `https://${c.proxy.addr}`;
  const created = await c.auth.client.createUser({ name: 'ola', roles: ['access'], logins: [me], password: PASSWORD });
  first = new URL(created.totpUri!).searchParams.get('secret')!;
  if (haveChromium()) b = await startBrowser(c.proxy.addr);
});
afterAll(async () => {
  await b?.close();
  await c.close();
});

async function logIn(page: Page, otp: string): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill('ola');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Authenticator code').fill(otp);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 10_000 });
}

test.skipIf(!haveChromium())(
  'a second authenticator app is added by name, logs in, and the first one is removed',
  async () => {
    // Early in a 30 s step, so the codes of the steps around it (each spent once per app) stay valid.
    await waitFor('an early moment of a TOTP step', () => Date.now() % STEP < 12_000, 35_000);
    const page = await b.newPage();
    await logIn(page, code(first, -1));
    await page.goto(`${base}/web/account`);
    await page.getByRole('heading', { name: 'Account: ola' }).waitFor();
    await page.getByRole('button', { name: 'Add an authenticator app' }).click();
    const add = page.getByRole('form', { name: 'Add an authenticator app' });
    await add.getByLabel('App name').fill('phone');
    await add.getByTestId('totp-qr').waitFor();
    const phone = (await add.locator('code.secret').textContent())!.trim();
    await add.getByLabel('Code from the new app').fill(code(phone, -1));
    await add.getByLabel('Current authenticator code').fill(code(first));
    await add.getByRole('button', { name: 'Add the app' }).click();
    await page.getByText('Authenticator app added.').waitFor();
    const today = await page.evaluate(() => new Date().toLocaleDateString());
    for (const name of ['authenticator', 'phone'])
      expect(await page.getByRole('row', { name: new RegExp(`^Authenticator app ${name} `) }).textContent()).toContain(
        today,
      );

    // A code of the new app logs in (a browser of its own, so the account page keeps its session).
    const other = await b.browser.newContext();
    await logIn(await other.newPage(), code(phone));
    await other.close();

    await page
      .getByRole('row', { name: /^Authenticator app authenticator / })
      .getByRole('button', { name: 'Remove' })
      .click();
    const remove = page.getByRole('form', { name: 'Remove authenticator' });
    await remove.getByLabel('Current authenticator code').fill(code(phone, 1));
    await remove.getByRole('button', { name: 'Remove authenticator' }).click();
    await page.getByText('authenticator removed.').waitFor();
    expect(await page.getByRole('row', { name: /^Authenticator app / }).allTextContents()).toEqual([
      expect.stringContaining('phone'),
    ]);
    // The phone is the last app of a cluster that asks for a code: it stays, and the page says why.
    await page
      .getByRole('row', { name: /^Authenticator app phone / })
      .getByRole('button', { name: 'Remove' })
      .click();
    const removeLast = page.getByRole('form', { name: 'Remove phone' });
    await removeLast.getByLabel('Current authenticator code').fill('000000');
    await removeLast.getByRole('button', { name: 'Remove phone' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('this is your last authenticator app');
    const removed = (await auditOf(c.auth.admin, 'mfa.remove')).filter((e) => e.user === 'ola' && e.success !== false);
    expect(removed.map((e) => e.device)).toEqual(['authenticator']);
    await page.close();
  },
);
