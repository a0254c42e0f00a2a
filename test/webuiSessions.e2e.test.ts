import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The web terminal and the player beyond the basics, in Debian's headless Chromium: the player lists the session's
// commands and jumps to them.
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
    const r = await f.admin(['users', 'add', 'wes', '--roles', 'ops', '--logins', me, '--password-stdin'], PASSWORD);
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
});
