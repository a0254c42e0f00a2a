import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import * as v from 'valibot';
import { AuditEventSchema } from '../core/api/schemas.ts';
import { totpCode } from '../core/auth/users.ts';
import { ARTIFACTS, haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The web UI driven like a person would, in Debian's headless Chromium: sign-up from the invite link, login with
// password + TOTP and with a security key (Chromium's virtual authenticator), a web terminal to a real node, the
// recording of that session played back, and the refusals a user can meet.
const PASSWORD = 'a long web password 42';
const NEW_PASSWORD = 'an even longer web password 43';
if (!haveChromium())
  console.warn('SKIPPING the web UI tests: /usr/bin/chromium is not installed (apt-get install chromium)');

let f: SshFixture;
let b: TestBrowser;
let base: string;

/** Creates a user with no password through `tp users add` and returns the token of the sign-up link it prints. */
async function invite(name: string, roles = 'ops,auditor'): Promise<string> {
  const r = await f.admin(['users', 'add', name, '--roles', roles, '--logins', me]);
  expect(r.code).toBe(0);
  return /\/web\/invite\/([A-Za-z0-9_-]+)/.exec(r.stdout)![1]!;
}

// The newest TOTP time step alice has spent: a code is good once, so the next one must be of a later step.
let aliceSpentStep = 0;
const stepOf = (t: number) => Math.floor(t / 30_000);

async function loginWithTotp(page: Page, user: string, secret: string, offsetMs = 0): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  const at = Date.now() + offsetMs;
  if (user === 'alice') aliceSpentStep = Math.max(aliceSpentStep, stepOf(at));
  await page.getByLabel('Authenticator code').fill(totpCode(secret, at));
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

/** A code of alice's app not spent yet (the next step's, accepted a step early), waiting for the clock if needed. */
async function freshAliceCode(secret: string): Promise<string> {
  await waitFor('a TOTP step alice has not used', () => stepOf(Date.now() + 30_000) > aliceSpentStep, 35_000);
  const at = Date.now() + 30_000;
  aliceSpentStep = stepOf(at);
  return totpCode(secret, at);
}

async function auditHas(type: string, match: (e: Record<string, unknown>) => boolean): Promise<boolean> {
  const events = await f.cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}&limit=500`);
  return events.some(match);
}

/** The screen lines of a terminal on the page, trimmed. */
const terminalLines = async (page: Page, testId: string) =>
  (await page.locator(`[data-testid="${testId}"] .xterm-rows > div`).allTextContents()).map((l) => l.trim());

describe.skipIf(!haveChromium())('web UI in headless Chromium', () => {
  let aliceSecret = '';
  let alicePassword = PASSWORD;

  beforeAll(async () => {
    f = await startSshFixture([{ name: 'web-node', labels: { env: 'web' } }], { secondFactor: 'on' });
    await f.role(
      'metadata: {name: auditor}\nspec:\n  allow: {rules: [{resources: [recording, audit], verbs: [list, read]}]}\n',
    );
    const port = f.cluster.proxy.addr.split(':')[1];
    base = `https://localhost:${port}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('sign-up from the invite link enrols TOTP from the QR code page', async () => {
    const token = await invite('alice');
    const page = await b.newPage();
    await page.goto(`${base}/web/invite/${token}`);
    await page.getByRole('heading', { name: 'Set up alice' }).waitFor();
    await page.getByTestId('totp-qr').waitFor();
    // The QR code is a real image (drawn from the otpauth:// URI in the page).
    await waitFor('the QR code to render', async () =>
      page.getByTestId('totp-qr').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 20),
    );
    aliceSecret = (await page.getByTestId('totp-secret').textContent())!.trim();
    expect(aliceSecret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    // A wrong code is refused and nothing is stored: the same link still works.
    await page.getByLabel('Code from the app').fill(totpCode(aliceSecret, Date.now() + 10 * 60_000));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByTestId('signup-error').textContent()).resolves.toContain('The code does not match');
    // The refusal is the only thing the console shows (Chromium logs every 4xx answer).
    await waitFor('the refusal in the console', () => b.errors.length >= 1, 3000);
    expect(b.takeErrors()).toEqual([expect.stringMatching(/status of 403 .*\/webapi\/signup\]$/)]);
    // The previous step's code (accepted ±1 step): the code confirming the app is spent, and this step's is left
    // for the first login below.
    aliceSpentStep = stepOf(Date.now() - 30_000);
    await page.getByLabel('Code from the app').fill(totpCode(aliceSecret, Date.now() - 30_000));
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Your account is ready.').waitFor();
    await b.screenshot(page, 'signup-done');
    // Nothing of the page's static "Loading…" is left; the terminal hint has the flag a new user needs for a proxy
    // whose certificate is from the cluster's own CA; the link is used now and says what to do instead.
    expect(await page.getByText('Loading…').count()).toBe(0);
    expect(await page.getByTestId('cli-hint').textContent()).toBe(
      `tp login --proxy localhost:${base.split(':').pop()} --user alice --insecure`,
    );
    await page.goto(`${base}/web/invite/${token}`);
    expect(await page.getByTestId('signup-error').textContent()).toBe(
      'This sign-up link is invalid, expired or already used.',
    );
    const help = (await page.getByTestId('link-gone-help').textContent())!;
    expect(help).toContain('tp users reset');
    expect(help).not.toContain('`');
    await page.getByTestId('link-gone-help').getByRole('link', { name: 'log in' }).click();
    await page.getByLabel('User name').waitFor();
    await page.close();
    await waitFor('the used link in the console', () => b.errors.length >= 1, 3000);
    expect(b.takeErrors()).toEqual([expect.stringMatching(/status of 404 .*\/webapi\/signup\/info\]$/)]);
  });

  test('login with password + TOTP, logout, and login again', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').waitFor();
    await b.screenshot(page, 'login-page');
    await loginWithTotp(page, 'alice', aliceSecret);
    await page.locator('tr[data-node="web-node"]').waitFor();
    expect(await page.getByTestId('who').textContent()).toBe('alice');
    const cookies = await b.context.cookies();
    const session = cookies.find((c) => c.name === '__Host-tp_session')!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    expect((await b.context.cookies()).some((c) => c.name === '__Host-tp_session')).toBe(false);
    // The code of this time step was used; the next step's code is accepted (±1 step).
    await loginWithTotp(page, 'alice', aliceSecret, 30_000);
    await page.locator('tr[data-node="web-node"]').waitFor();
    expect(await auditHas('user.logout', (e) => e.user === 'alice')).toBe(true);
    await page.close();
  });

  test('a web terminal runs a command on the node; the session is recorded and plays back the same text', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/nodes`);
    await page
      .locator('tr[data-node="web-node"]')
      .getByRole('button', { name: /Connect/ })
      .click();
    await page
      .getByTestId('term-status')
      .getByText(/Connected to web-node/)
      .waitFor({ timeout: 20_000 });
    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo hello-web\n');
    // The node's shell answers: one screen line is exactly the command's output.
    await waitFor('hello-web output', async () => (await terminalLines(page, 'terminal')).includes('hello-web'));
    await b.screenshot(page, 'terminal');
    // Resizing the window resizes the remote terminal: `stty size` reports fewer columns after.
    const size = async () => {
      await page.keyboard.type('stty size\n');
      let found: number[] | undefined;
      await waitFor('stty size output', async () => {
        const sizes = (await terminalLines(page, 'terminal')).filter((l) => /^\d+ \d+$/.test(l));
        found = sizes.at(-1)?.split(' ').map(Number);
        return sizes.length > 0;
      });
      return found!;
    };
    await page.keyboard.type('clear\n');
    const [, wide] = await size();
    await page.setViewportSize({ width: 800, height: 700 });
    await waitFor('the smaller size', async () => {
      await page.keyboard.type('clear\n');
      return ((await size())[1] ?? 0) < wide!;
    });
    // Ctrl+Shift+V pastes the clipboard into the session.
    await page.evaluate("navigator.clipboard.writeText('echo pasted-ok')");
    await page.keyboard.press('Control+Shift+V');
    await page.keyboard.press('Enter');
    await waitFor('pasted output', async () => (await terminalLines(page, 'terminal')).includes('pasted-ok'));
    expect((await terminalLines(page, 'terminal')).filter((l) => l === 'pasted-ok')).toHaveLength(1);
    // Double-click selects a word; Ctrl+Shift+C copies it.
    const word = await page
      .locator('[data-testid="terminal"] .xterm-rows > div', { hasText: /^pasted-ok$/ })
      .boundingBox();
    await page.mouse.dblclick(word!.x + 20, word!.y + word!.height / 2);
    await page.keyboard.press('Control+Shift+C');
    await waitFor(
      'the copied word',
      async () => (await page.evaluate('navigator.clipboard.readText()')) === 'pasted-ok',
    );
    await page.setViewportSize({ width: 1200, height: 800 });
    await page.keyboard.type('exit\n');
    await page.getByText('Session ended.').waitFor();
    await waitFor(
      'the recording of the web session',
      async () =>
        (await f.cluster.auth.client.listRecordings(1000)).some((r) => r.user === 'alice' && r.status === 'complete'),
      20_000,
    );
    expect(await auditHas('session.start', (e) => e.user === 'alice' && e.login === me)).toBe(true);

    await page.getByRole('link', { name: 'Recordings' }).click();
    const row = page.locator('tr[data-session]').filter({ hasText: 'alice' }).first();
    await row.getByRole('link').click();
    await page.getByTestId('player').locator('.xterm-rows').waitFor();
    await waitFor(
      'playback of hello-web',
      async () => (await terminalLines(page, 'player')).includes('hello-web'),
      15_000,
    );
    await b.screenshot(page, 'player');
    // Seek back to the start: the screen is cleared, then plays again.
    await page.getByRole('button', { name: /Play|Pause/ }).click();
    await page.locator('#seek').fill('0');
    expect(await terminalLines(page, 'player')).not.toContain('hello-web');
    await page.close();
  });

  test('the audit view filters events by type and user', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/audit`);
    await page.getByLabel('Event type').fill('user.login');
    await page.getByLabel('User', { exact: true }).fill('alice');
    // The rows on screen are those of this filter (not of an earlier one still on the way).
    await page.locator('table[data-shown-type="user.login"][data-shown-user="alice"]').waitFor({ timeout: 10_000 });
    await page.locator('tr[data-type="user.login"]').first().waitFor();
    const types = await page
      .locator('tr[data-type]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
    expect(new Set(types)).toEqual(new Set(['user.login']));
    await page.close();
  });

  test('servers: search and label filter narrow the list on the proxy', async () => {
    await f.cluster.addAgent({ name: 'other-node', labels: { env: 'lab' } });
    const page = await b.newPage();
    await page.goto(`${base}/web/nodes`);
    await page.locator('tr[data-node="other-node"]').waitFor();
    await page.getByLabel('Search').fill('other');
    await page.locator('tr[data-node="web-node"]').waitFor({ state: 'detached' });
    expect(await page.getByTestId('nodes-count').textContent()).toBe('1–1 of 1');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Label').fill('env=web');
    await page.locator('tr[data-node="other-node"]').waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-node]').count()).toBe(1);
    await page.close();
  });

  test('account page: each change confirmed with a fresh factor: add a security key, change the password, add a second authenticator app and remove the first', async () => {
    const page = await b.newPage();
    const cdp = await b.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${base}/web/account`);
    await page.getByRole('heading', { name: 'Account: alice' }).waitFor();
    // The session alone changes nothing: adding a key without the current code is refused by the server.
    const addKey = page.getByRole('form', { name: 'Add a security key' });
    await addKey.getByLabel('Key name').fill('laptop key');
    await addKey.getByLabel('Current authenticator code').fill('000000');
    await addKey.getByRole('button', { name: 'Add a security key' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/second-factor code is wrong|already used/);
    await addKey.getByLabel('Key name').fill('laptop key');
    await addKey.getByLabel('Current authenticator code').fill(await freshAliceCode(aliceSecret));
    await addKey.getByRole('button', { name: 'Add a security key' }).click();
    await page.getByText('Security key added.').waitFor();
    await page.getByRole('cell', { name: 'laptop key' }).waitFor();

    // With a key enrolled, the code may be left empty: the key confirms the change.
    const password = page.getByRole('form', { name: 'Change password' });
    await password.getByLabel('Current password').fill(PASSWORD);
    await password.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await password.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await password.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    alicePassword = NEW_PASSWORD;

    // A second authenticator app, named inline: both apps are listed with their names and dates.
    await page.getByRole('button', { name: 'Add an authenticator app' }).click();
    const confirmApp = page.getByRole('form', { name: 'Add an authenticator app' });
    await confirmApp.getByLabel('App name').fill('phone');
    const secret = (await confirmApp.locator('code.secret').textContent())!.trim();
    await confirmApp.getByLabel('Code from the new app').fill(totpCode(secret, Date.now()));
    await confirmApp.getByRole('button', { name: 'Add the app' }).click();
    await page.getByText('Authenticator app added.').waitFor();
    const today = await page.evaluate(() => new Date().toLocaleDateString());
    for (const name of ['authenticator', 'phone'])
      expect(await page.getByRole('row', { name: new RegExp(`^Authenticator app ${name} `) }).textContent()).toContain(
        today,
      );
    await b.screenshot(page, 'account');

    const phoneSpent = stepOf(Date.now());

    // The first app removed, confirmed with the security key (the code left empty).
    await page
      .getByRole('row', { name: /Authenticator app authenticator/ })
      .getByRole('button', { name: 'Remove' })
      .click();
    const removeFirst = page.getByRole('form', { name: 'Remove authenticator' });
    await removeFirst.getByRole('button', { name: 'Remove authenticator' }).click();
    await page.getByText('authenticator removed.').waitFor();
    expect(await page.getByRole('row', { name: /Authenticator app authenticator/ }).count()).toBe(0);
    aliceSecret = secret;
    aliceSpentStep = phoneSpent;

    await page
      .getByRole('row', { name: /laptop key/ })
      .getByRole('button', { name: 'Remove' })
      .click();
    await page.getByRole('button', { name: 'Remove laptop key' }).click();
    await page.getByText('laptop key removed.').waitFor();
    expect(await page.getByRole('row', { name: /laptop key/ }).count()).toBe(0);
    // The app is the last factor now: the cluster needs one, so it stays.
    await page
      .getByRole('row', { name: /Authenticator app phone/ })
      .getByRole('button', { name: 'Remove' })
      .click();
    const removeApp = page.getByRole('form', { name: 'Remove phone' });
    await removeApp.getByLabel('Current authenticator code').fill(totpCode(secret, Date.now()));
    await removeApp.getByRole('button', { name: 'Remove phone' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('this is your last second factor');
    expect(await auditHas('mfa.add', (e) => e.user === 'alice' && e.kind === 'webauthn' && e.success === false)).toBe(
      true,
    );
    expect(await auditHas('mfa.remove', (e) => e.user === 'alice' && e.kind === 'webauthn')).toBe(true);
    expect(await auditHas('mfa.add', (e) => e.user === 'alice' && e.kind === 'totp' && e.device === 'phone')).toBe(
      true,
    );
    expect(
      await auditHas('mfa.remove', (e) => e.user === 'alice' && e.kind === 'totp' && e.device === 'authenticator'),
    ).toBe(true);
    expect(await auditHas('user.password_change', (e) => e.user === 'alice' && e.success === true)).toBe(true);
    // A lost or expired session sends the page back to the login form, saying why.
    await b.context.clearCookies();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('Your session has expired. Log in again.').waitFor();
    await page.close();
    await waitFor('the refusals in the console', () => b.errors.length >= 3, 3000);
    // The code-less key addition answered 403, removing the last factor 400 and the cleared session 401; nothing else.
    expect(b.takeErrors()).toEqual([
      expect.stringMatching(/status of 403 .*\/webapi\/ui\/account\/webauthn\/finish\]$/),
      expect.stringMatching(/status of 400 .*\/webapi\/ui\/account\/devices\/remove\]$/),
      expect.stringMatching(/status of 401 .*\/webapi\/ui\/audit/),
    ]);
  });

  test('WebAuthn: sign-up with a security key and login with it (Chromium virtual authenticator)', async () => {
    const token = await invite('bob');
    const page = await b.newPage();
    const cdp = await b.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${base}/web/invite/${token}`);
    // Each radio button sits on the line of its label, left of the text.
    for (const name of ['Authenticator app', 'Security key']) {
      const radio = (await page.getByLabel(name).boundingBox())!;
      const label = (await page.locator('label.row', { hasText: name }).boundingBox())!;
      expect(radio.y).toBeGreaterThanOrEqual(label.y);
      expect(radio.y + radio.height).toBeLessThanOrEqual(label.y + label.height);
      expect(radio.width).toBeLessThan(40);
    }
    await page.getByLabel('Security key').check();
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByLabel('Name of the key').fill('virtual key');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Your account is ready.').waitFor();

    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in with a security key' }).click();
    await page.locator('tr[data-node="web-node"]').waitFor();
    expect(await auditHas('user.login', (e) => e.user === 'bob' && e.method === 'webauthn' && e.success === true)).toBe(
      true,
    );
    // Without the key, a password alone is refused.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toContain('security key');
    await waitFor('the refusal in the console', () => b.errors.length >= 1, 3000);
    expect(b.takeErrors()).toEqual([expect.stringMatching(/status of 403 .*\/webapi\/sessions\]$/)]);
    await page.close();
  });

  test('dark mode follows the system setting', async () => {
    const ctx = await b.browser.newContext({ colorScheme: 'dark' });
    const page = await ctx.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').waitFor();
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(15, 19, 26)');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'login-page-dark.png') });
    await ctx.close();
  });

  test('no console errors on the happy paths', () => {
    expect(b.takeErrors()).toEqual([]);
  });

  test('a wrong password and a wrong code show an error and are audited; after lockout the UI says so', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(alicePassword);
    await page.getByLabel('Authenticator code').fill(totpCode(aliceSecret, Date.now() - 10 * 60_000));
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toMatch(
      /invalid or reused second-factor code/i,
    );
    expect(
      await auditHas(
        'user.login',
        (e) => e.user === 'alice' && e.success === false && /second-factor/.test(String(e.error)),
      ),
    ).toBe(true);

    await page.goto(`${base}/web/login`);
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await expect(page.getByTestId('login-error').textContent()).resolves.toMatch(
        /invalid username or password|locked/i,
      );
    }
    expect(
      await auditHas(
        'user.login',
        (e) => e.user === 'alice' && e.success === false && e.error === 'invalid username or password',
      ),
    ).toBe(true);
    await page.getByLabel('Password').fill(alicePassword);
    await page.getByLabel('Authenticator code').fill(totpCode(aliceSecret, Date.now() - 30_000));
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    // In words and local time, once: "... until 14:05, in 15 minutes." (with the date when that is tomorrow: a run
    // late in the evening ends the lockout after midnight).
    const locked = (await page.getByTestId('login-error').textContent())!;
    const until = /until (\d+\/\d+\/\d+ )?\d\d:\d\d( [AP]M)?, in (\d+) minutes\./.exec(locked);
    expect(locked).toMatch(
      /^This account is locked after too many failed logins, until [\d/ ]*\d\d:\d\d( [AP]M)?, in \d+ minutes\. Wait until then or ask an admin to unlock it\.$/,
    );
    // "in N minutes" is rounded up: the lockout ends within the minute before now + N.
    const tomorrow = [0, 1].map((early) => {
      const ends = new Date(Date.now() + (Number(until![3]) - early) * 60_000);
      return ends.toDateString() !== new Date().toDateString();
    });
    if (tomorrow[0] === tomorrow[1]) expect(until![1] !== undefined).toBe(tomorrow[0]!);
    expect(await auditHas('user.locked_out', (e) => e.user === 'alice')).toBe(true);
    await b.screenshot(page, 'login-locked');
    await page.close();
    // Only the refusals this test provoked reached the console: the fifth failure locked the account, so five
    // attempts were answered 403 and the two after them 423 (Locked).
    await waitFor('the refusals in the console', () => b.errors.length >= 7, 3000);
    const seen = b.takeErrors();
    expect(seen.filter((e) => /status of 403 .*\/webapi\/sessions\]$/.test(e))).toHaveLength(5);
    expect(seen.filter((e) => /status of 423 .*\/webapi\/sessions\]$/.test(e))).toHaveLength(2);
    expect(seen).toHaveLength(7);
  });
});
