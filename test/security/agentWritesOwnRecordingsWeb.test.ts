import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import type { RecordingMeta } from '../../core/audit/store.ts';
import { recordedEcho } from '../helpers/agentWrites.ts';
import { haveChromium, startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/cluster.ts';
import { type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Issue 16, item 5, in the web UI: the Recordings page follows the same rule as `tp recordings ls` / `tp play`
// (each user sees their own sessions, a recording rule shows all), and its nav item shows for whoever may see some.

if (!haveChromium()) console.warn('SKIPPING the web recordings tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;
let alice: FixtureUser;
let bob: FixtureUser;
let mine: RecordingMeta;
let theirs: RecordingMeta;

/** Logs in on the web UI with a password (the fixture's cluster asks for no second factor) and waits for the nav. */
async function webLogin(name: string): Promise<Page> {
  const page = await b.newPage();
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  // Either the signed-in header or the login page's error, which then names what went wrong.
  await page.locator('[data-testid="who"], [role="alert"]').first().waitFor();
  const alert = page.getByRole('alert');
  if (await alert.isVisible()) throw new Error(`web login of ${name} failed: ${await alert.textContent()}`);
  return page;
}

async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  // The login page's notice says how the logout went; a failure names the proxy's answer (seen once in CI).
  const notice = page.getByTestId('login-notice');
  await notice.waitFor();
  expect(await notice.textContent()).toBe('You have logged out.');
  await page.close();
}

const navLinks = async (page: Page) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();

/** Session IDs the Recordings page lists. */
async function listedOnPage(page: Page): Promise<string[]> {
  await page.getByRole('link', { name: 'Recordings' }).click();
  await page.getByRole('heading', { name: 'Session recordings' }).waitFor();
  await page.locator('tr[data-session]').first().waitFor();
  return (await page.locator('tr[data-session]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session'))))
    .filter((s): s is string => !!s)
    .sort();
}

describe.skipIf(!haveChromium())('web UI: users see their own recordings', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'web-node' }]);
    await f.role(
      'metadata: {name: session-auditor}\nspec:\n  allow: {rules: [{resources: [recording], verbs: [list, read]}]}\n',
    );
    await f.role('metadata: {name: no-recordings}\nspec:\n  deny: {rules: [{resources: [recording], verbs: ["*"]}]}\n');
    alice = await f.user('alice', ['ops']);
    bob = await f.user('bob', ['ops']);
    await f.user('carol', ['ops', 'session-auditor']);
    await f.user('dave', ['ops', 'no-recordings']);
    mine = await recordedEcho(f, alice, 'web-node', `alice-web-${Math.random().toString(36).slice(2, 8)}`);
    theirs = await recordedEcho(f, bob, 'web-node', `bob-web-${Math.random().toString(36).slice(2, 8)}`);
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test("alice sees Recordings, lists and plays her own session, and is refused bob's", async () => {
    const page = await webLogin('alice');
    expect(await navLinks(page)).toEqual(['Servers', 'Recordings', 'Account']);
    expect(await listedOnPage(page)).toEqual([mine.sessionId]);
    await page.locator(`tr[data-session="${mine.sessionId}"]`).getByRole('link').click();
    await page.getByTestId('player').locator('.xterm-rows').waitFor();
    const marker = mine.command!.replace('echo ', '');
    await waitFor('playback of her output', async () =>
      (await page.getByTestId('player').locator('.xterm-rows > div').allTextContents()).some((l) => l.includes(marker)),
    );
    await page.goto(`${base}/web/recordings/${theirs.sessionId}`);
    // The page shows the refusal as a sentence (capital, full stop).
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      `Session ${theirs.sessionId} is not one of yours: your roles let you play only your own sessions.`,
    );
    expect(b.takeErrors()).toEqual([expect.stringMatching(/status of 403 .*\/webapi\/ui\/recordings\//)]);
    await logout(page);
  });

  test('a role with recording rules sees every session on the page', async () => {
    const page = await webLogin('carol');
    expect(await listedOnPage(page)).toEqual([mine.sessionId, theirs.sessionId].sort());
    await logout(page);
  });

  test('a role that denies recordings shows no Recordings item', async () => {
    const page = await webLogin('dave');
    expect(await navLinks(page)).toEqual(['Servers', 'Account']);
    await logout(page);
  });
});
