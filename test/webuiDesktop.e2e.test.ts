import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { withStandInDesktops } from './fixtures/desktopStandIn.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { haveXvnc, startXvnc, type XvncDesktop } from './helpers/xvncDesktop.ts';

// A desktop in the browser: the Desktops page lists what the roles reach, Connect opens it in noVNC over the proxy's
// WebSocket (through a real agent's tunnel to a real Xvnc), the screen shows the X server's pixels, keys and the
// clipboard reach the X server.
const ready = haveChromium() && haveXvnc();
if (!ready) console.warn('SKIPPING the web UI desktop tests: Chromium or Xvnc is not installed');

const ROOT = [0x33, 0x66, 0xcc];
let f: SshFixture;
let x: XvncDesktop;
let b: TestBrowser;
let base: string;
let typed: string;

async function pageFor(user: string): Promise<Page> {
  const page = await b.newPage();
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').getByText(user).waitFor({ state: 'attached', timeout: 10_000 });
  return page;
}

/** The RGB of the desktop's framebuffer pixel at (x, y), read from noVNC's canvas (it holds the unscaled screen). */
async function pixel(page: Page, px: number, py: number): Promise<number[]> {
  return (await page.evaluate(
    `[...document.querySelector('[data-testid="desktop-screen"] canvas').getContext('2d').getImageData(${px}, ${py}, 1, 1).data.slice(0, 3)]`,
  )) as number[];
}

/** Clicks the desktop at framebuffer point (x, y), wherever the scaled canvas sits on the page. */
async function clickDesktop(page: Page, px: number, py: number): Promise<void> {
  const canvas = page.locator('[data-testid="desktop-screen"] canvas');
  const box = (await canvas.boundingBox())!;
  const k = box.width / x.width;
  await page.mouse.click(box.x + px * k, box.y + py * k);
}

describe.skipIf(!ready)('web UI desktops', () => {
  beforeAll(async () => {
    x = await startXvnc({ width: 640, height: 480, rootColour: '#3366cc' });
    typed = join(mkdtempSync(join(tmpdir(), 'tp-desk-')), 'typed');
    // An xterm at a known place that writes the first line typed into it to a file.
    x.spawn(['xterm', '-geometry', '40x6+320+240', '-e', 'sh', '-c', `read line; printf %s "$line" > ${typed}`]);
    const served = () => [
      { name: 'lab1', labels: { env: 'dev' }, addr: x.addr },
      { name: 'lab-prod', labels: { env: 'prod' }, addr: x.addr },
    ];
    f = await startSshFixture([{ name: 'deskhost' }], { secondFactor: 'off' }, undefined, withStandInDesktops(served));
    await f.role('metadata: {name: desk-dev}\nspec:\n  allow:\n    desktop_labels: {env: dev}\n');
    await f.role('metadata: {name: no-desk}\nspec:\n  allow: {logins: [nobody], node_labels: {"*": "*"}}\n');
    for (const [u, role] of [
      ['dana', 'desk-dev'],
      ['sam', 'no-desk'],
    ]) {
      const add = await f.admin(['users', 'add', u!, '--roles', role!, '--password-stdin'], PASSWORD);
      expect(add.code).toBe(0);
    }
    await waitFor(
      'the desktops at the proxy',
      async () => (await f.cluster.proxy.view.resources('desktop')).length === 2,
    );
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
    await x?.close();
  });

  test('lab1 opens from the Desktops page: noVNC connects, the screen shows the X root colour, keys and clipboard reach X', async () => {
    const page = await pageFor('dana');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Desktops' }).click();
    const row = page.locator('tr[data-desktop="lab1"]');
    await row.waitFor();
    expect(await page.locator('tr[data-desktop="lab-prod"]').count()).toBe(0);
    expect(await row.textContent()).toContain('VNC');
    await row.getByRole('button', { name: 'Connect to lab1' }).click();
    page.on('console', (m) => console.log('CONSOLE', m.type(), m.text()));
    await page
      .getByTestId('desktop-status')
      .getByText('connected')
      .waitFor({ timeout: 15_000 })
      .catch(async (e) => {
        console.log('ERRORS', b.errors, await page.locator('main').innerHTML());
        throw e;
      });
    expect(await page.title()).toBe('Desktop lab1 · tp');
    // The first full update may still be on its way after the connect event: poll the pixel.
    await waitFor('the root colour on the canvas', async () => `${await pixel(page, 10, 10)}` === `${ROOT}`);
    expect(await pixel(page, 630, 20)).toEqual(ROOT);
    // xterm is not the root colour: the canvas shows the real screen, not a fill.
    expect(await pixel(page, 330, 250)).not.toEqual(ROOT);
    await b.screenshot(page, 'desktop-lab1');
    await clickDesktop(page, 400, 270);
    await page.keyboard.type('hello tp');
    await page.keyboard.press('Enter');
    await waitFor('the typed line at the X server', () => {
      try {
        return readFileSync(typed, 'utf8') === 'hello tp';
      } catch {
        return false;
      }
    });
    // The clipboard panel sends text to the desktop; the X server's clipboard holds it.
    await page.getByText('Clipboard', { exact: true }).click();
    await page.getByLabel(/Text on the desktop's clipboard/).fill('from the browser');
    await page.getByRole('button', { name: 'Send to desktop' }).click();
    await waitFor(
      'the X clipboard',
      async () => (await x.run(['xclip', '-o', '-selection', 'clipboard'])).out === 'from the browser',
    );
    expect(b.takeErrors()).toEqual([]);
  });

  test('a user whose roles reach no desktop has no Desktops page, and a link to one says why it cannot open', async () => {
    const page = await pageFor('sam');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Desktops' }).count()).toBe(
      0,
    );
    await page.goto(`${base}/web/desktops/lab1`);
    // Opened from a link: the page asks first.
    await page.getByRole('button', { name: 'Open the desktop' }).click();
    await page.getByTestId('desktop-message').getByText('access to desktop "lab1" is not allowed').waitFor();
    expect(await page.getByTestId('desktop-status').textContent()).toBe('ended');
    b.takeErrors();
  });
});
