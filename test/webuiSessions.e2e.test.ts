import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { auditEvents, me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The web terminal and the player beyond the basics, in Debian's headless Chromium: the player lists the session's
// commands and jumps to them; the terminal page holds several sessions in tabs;
// the audit user filter is a prefix.
if (!haveChromium()) console.warn('SKIPPING the web session tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;

async function logIn(page: Page, user: string): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').getByText(user).waitFor({ state: 'attached', timeout: 10_000 });
}

/** Opens a shell on `node` from the servers list and waits until it is connected. */
async function connect(page: Page, node: string): Promise<void> {
  await page
    .locator(`tr[data-node="${node}"]`)
    .getByRole('button', { name: /Connect/ })
    .click();
  await page.getByTestId('term-status').getByText(`Connected to ${node}`).waitFor({ timeout: 20_000 });
}

describe.skipIf(!haveChromium())('web sessions', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'web-a' }, { name: 'web-b' }]);
    await f.role(
      'metadata: {name: auditor}\nspec:\n  allow: {rules: [{resources: [recording, audit], verbs: [list, read]}]}\n',
    );
    const r = await f.admin(
      ['users', 'add', 'wes', '--roles', 'ops,auditor', '--logins', me, '--password-stdin'],
      PASSWORD,
    );
    expect(r.code).toBe(0);
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test("the player lists the session's commands with their times; a click or a typed command seeks there", async () => {
    const page = await b.newPage();
    await logIn(page, 'wes');
    await connect(page, 'web-a');
    await page.getByTestId('terminal').click();
    // Each command waits for its own output, so that the three land at different moments of the recording.
    for (const [cmd, out] of [
      ['echo first-$((6*7))', 'first-42'],
      ['printf "%s\\n" second-one', 'second-one'],
      ['exit', ''],
    ] as const) {
      await page.keyboard.type(`${cmd}\n`);
      if (out) await page.getByTestId('terminal').getByText(out, { exact: true }).waitFor({ timeout: 10_000 });
    }
    await page.getByTestId('term-status').getByText('Session ended.').waitFor({ timeout: 10_000 });
    await page.goto(`${base}/web/recordings`);
    const first = page.locator('tr[data-session] a').first();
    await first.waitFor({ timeout: 20_000 });
    // Opened at its start, paused, so that the positions below are the ones the clicks chose.
    await page.goto(`${base}${await first.getAttribute('href')}?t=0`);
    const list = page.getByTestId('commands').getByRole('button');
    await list.first().waitFor({ timeout: 10_000 });
    expect(await list.locator('code').allTextContents()).toEqual([
      'echo first-$((6*7))',
      'printf "%s\\n" second-one',
      'exit',
    ]);
    for (const text of await list.allTextContents()) expect(text).toMatch(/^\d+:\d\d /);
    const seek = page.locator('#seek');
    // A click on a command makes its moment the position; going back shows nothing typed after it.
    const shown = (i: number) => async () => (await list.nth(i).getAttribute('aria-current')) === 'step';
    await list.nth(1).click();
    await waitFor('the second command shown', shown(1), 5000);
    const second = Number(await seek.inputValue());
    await list.nth(0).click();
    await waitFor('the first command shown', shown(0), 5000);
    const firstAt = Number(await seek.inputValue());
    expect(firstAt).toBeLessThan(second);
    expect(await page.getByTestId('player').textContent()).not.toContain('second-one');
    // Jump to a typed command (any case) seeks to it; an unknown one is said so.
    await page.getByLabel('Jump to command').fill('PRINTF');
    await page.getByRole('button', { name: 'Jump', exact: true }).click();
    await waitFor('the jump', async () => Number(await seek.inputValue()) === second, 5000);
    await waitFor('the second command shown again', shown(1), 5000);
    await page.getByLabel('Jump to command').fill('no-such-thing');
    await page.getByRole('button', { name: 'Jump', exact: true }).click();
    await page.getByRole('alert').getByText('No command contains “no-such-thing”.').waitFor();
    await b.screenshot(page, 'player-timeline');
    expect(b.takeErrors()).toEqual([]);
    await page.close();
  });

  test('terminal tabs: another server in a new tab, switching keeps both, closing one ends it; the session ID copies', async () => {
    const page = await b.newPage();
    await logIn(page, 'wes');
    await connect(page, 'web-a');
    const panel = (n: number) => page.locator('[role="tabpanel"]').nth(n);
    await page.getByLabel('Server').selectOption({ label: 'web-b' });
    await page.getByRole('button', { name: 'Open in a new tab' }).click();
    await panel(1).getByTestId('term-status').getByText('Connected to web-b').waitFor({ timeout: 20_000 });
    expect(await page.getByRole('tab').allTextContents()).toEqual([`${me}@web-a`, `${me}@web-b`]);
    expect(await page.getByRole('tab', { selected: true }).textContent()).toBe(`${me}@web-b`);
    expect(await panel(0).isVisible()).toBe(false);
    await panel(1).getByTestId('terminal').click();
    await page.keyboard.type('echo in-b-$((2+3))\n');
    await panel(1).getByTestId('terminal').getByText('in-b-5', { exact: true }).waitFor({ timeout: 10_000 });
    // Back to the first tab: its session is still there, and what is typed goes to it alone.
    await page.getByRole('tab', { name: `${me}@web-a` }).click();
    await panel(0).getByTestId('terminal').click();
    await page.keyboard.type('echo in-a-$((3+4))\n');
    await panel(0).getByTestId('terminal').getByText('in-a-7', { exact: true }).waitFor({ timeout: 10_000 });
    expect(await panel(0).getByTestId('terminal').getByText('in-b-5').count()).toBe(0);
    await b.screenshot(page, 'terminal-tabs');
    // Closing the second tab ends its session on web-b; the first carries on.
    const ended = async () =>
      (await auditEvents(f, 'session.end')).filter((e) => e.server_name === 'web-b' && e.user === 'wes').length;
    expect(await ended()).toBe(0);
    await page.getByRole('tab', { name: `${me}@web-b` }).click();
    await panel(1).getByRole('button', { name: 'Close tab' }).click();
    await waitFor('the session on web-b to end', async () => (await ended()) === 1, 10_000);
    expect(await page.getByRole('tab').allTextContents()).toEqual([`${me}@web-a`]);
    expect(await panel(0).getByTestId('term-status').textContent()).toMatch(/^Connected to web-a/);
    // The session ID, copied for support, is the one the node audits the session under.
    await panel(0).getByRole('button', { name: 'Copy session ID' }).click();
    await panel(0).getByRole('button', { name: 'Copied' }).waitFor();
    const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
    expect(copied).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await panel(0).getByTestId('session-id').textContent()).toBe(copied);
    const starts = (await auditEvents(f, 'session.start')).filter((e) => e.user === 'wes');
    expect(starts.filter((e) => e.session_id === copied).map((e) => e.server_name)).toEqual(['web-a']);
    expect(b.takeErrors()).toEqual([]);
    await page.close();
  });

  test('audit: the user filter is a prefix in any case', async () => {
    const page = await b.newPage();
    await logIn(page, 'wes');
    await page.goto(`${base}/web/audit`);
    await page.getByLabel('Event type').fill('session.start');
    await page.getByLabel('User', { exact: true }).fill('WE');
    await page
      .locator('table[data-shown-user="WE"] tr[data-type="session.start"]')
      .first()
      .waitFor({ timeout: 10_000 });
    const texts = await page.getByTestId('event-text').allTextContents();
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t).toStartWith('wes started a session');
    await page.getByLabel('User', { exact: true }).fill('wesx');
    await page.getByText('No events match.').waitFor({ timeout: 10_000 });
    expect(b.takeErrors()).toEqual([]);
    await page.close();
  });
});
