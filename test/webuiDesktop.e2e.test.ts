import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { webCall, webLogin } from './helpers/accountWeb.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { type DesktopTpCluster, startDesktopTpCluster } from './helpers/desktopTpCluster.ts';
import { logInAs } from './helpers/webLogin.ts';
import { startXvnc, type Xvnc, xvncMissing } from './helpers/xvnc.ts';

// A desktop in the browser through a real `tp start` (plugin desktop-vnc, the VNC password on the agent only): the
// Desktops page lists what the roles reach, Connect opens it in noVNC over the proxy's WebSocket, the screen shows
// the X server's pixels, keys and (when the roles allow it) the clipboard reach the X server.
const ready = haveChromium() && !xvncMissing;
if (!ready) console.warn(`SKIPPING the web UI desktop tests: ${xvncMissing ?? 'Chromium is not installed'}`);

const PASSWORD = 'correct horse battery staple';
const ROOT = [0x33, 0x66, 0xcc];
let c: DesktopTpCluster;
let x: Xvnc;
let b: TestBrowser;
let base: string;
let typed: string;

async function pageFor(user: string): Promise<Page> {
  const page = await b.newPage();
  await logInAs(page, base, user, PASSWORD);
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
    x = await startXvnc({ width: 640, height: 480, colour: '#3366cc' });
    typed = join(x.dir, 'typed');
    // An xterm at a known place that writes the first line typed into it to a file.
    x.spawn(['xterm', '-geometry', '40x6+320+240', '-e', 'sh', '-c', `read line; printf %s "$line" > ${typed}`]);
    const addr = `127.0.0.1:${x.port}`;
    // An agent configured with the wrong VNC password for one desktop.
    const wrongPassword = join(x.dir, 'wrong.vncpass');
    writeFileSync(wrongPassword, 'not-the-password\n');
    c = await startDesktopTpCluster([
      { name: 'lab1', addr, labels: { env: 'dev' }, passwordFile: x.passwordFile },
      { name: 'lab-prod', addr, labels: { env: 'prod' }, passwordFile: x.passwordFile },
      { name: 'lab-badpw', addr, labels: { env: 'dev' }, passwordFile: wrongPassword },
    ]);
    await c.role('metadata: {name: desk-dev}\nspec:\n  allow:\n    desktop_labels: {env: dev}\n');
    await c.role('metadata: {name: no-clip}\nspec:\n  options: {desktop_clipboard: false}\n');
    await c.role('metadata: {name: no-desk}\nspec:\n  allow: {logins: [nobody], node_labels: {"*": "*"}}\n');
    await c.user('dana', ['desk-dev'], PASSWORD);
    await c.user('cleo', ['desk-dev', 'no-clip'], PASSWORD);
    await c.user('sam', ['no-desk'], PASSWORD);
    await c.role('metadata: {name: watch}\nspec:\n  options: {desktop_view_only: true}\n');
    await c.user('vera', ['desk-dev', 'watch'], PASSWORD);
    base = `https://localhost:${c.proxyAddr.split(':')[1]}`;
    const login = await webLogin(`https://${c.proxyAddr}`, { username: 'dana', password: PASSWORD });
    await waitFor(
      'lab1 online',
      async () =>
        JSON.stringify(
          (await webCall(`https://${c.proxyAddr}`, 'GET', '/webapi/ui/resources/desktop', { session: login.session }))
            .body,
        ).includes('"online":true'),
      20_000,
    );
    b = await startBrowser(c.proxyAddr);
  });
  afterAll(async () => {
    await b?.close();
    await c?.close();
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
    await waitFor('the X clipboard', async () => (await x.clipboard()) === 'from the browser');
    // And the other way: what the desktop copies shows up in the page's clipboard panel.
    await x.x(['sh', '-c', 'printf %s "from the desktop" | xclip -selection clipboard -i >/dev/null 2>&1']);
    await waitFor(
      "the desktop's clipboard in the page",
      async () => (await page.getByLabel(/Text on the desktop's clipboard/).inputValue()) === 'from the desktop',
    );
    expect(b.takeErrors()).toEqual([]);
  });

  test('a role turning the clipboard off: the page says so and offers no clipboard; the desktop still works', async () => {
    const page = await pageFor('cleo');
    await page.goto(`${base}/web/desktops`);
    await page.getByRole('button', { name: 'Connect to lab1' }).click();
    await page.getByTestId('desktop-status').getByText('connected').waitFor({ timeout: 15_000 });
    await page.getByText('The clipboard is turned off for this desktop by your roles.').waitFor();
    expect(await page.getByText('Clipboard', { exact: true }).count()).toBe(0);
    await waitFor('the root colour on the canvas', async () => `${await pixel(page, 10, 10)}` === `${ROOT}`);
    expect(b.takeErrors()).toEqual([]);
  });

  test('a view-only role: the page says so and Ctrl+Alt+Del is off (noVNC sends no input; the agent drops any)', async () => {
    const page = await pageFor('vera');
    await page.goto(`${base}/web/desktops`);
    await page.getByRole('button', { name: 'Connect to lab1' }).click();
    await page.getByTestId('desktop-status').getByText('connected').waitFor({ timeout: 15_000 });
    await page.getByText('View only: your roles let you watch this desktop, not use it.').waitFor();
    expect(await page.getByRole('button', { name: 'Ctrl+Alt+Del' }).isDisabled()).toBe(true);
    await waitFor('the screen', async () => `${await pixel(page, 10, 10)}` === `${ROOT}`);
    expect(b.takeErrors()).toEqual([]);
  });

  test("a wrong VNC password in the agent's config: the page says the desktop refused, in tp's words", async () => {
    const page = await pageFor('dana');
    await page.goto(`${base}/web/desktops`);
    await page.getByRole('button', { name: 'Connect to lab-badpw' }).click();
    const message = page.getByTestId('desktop-message');
    await message.getByText('the desktop refused the session').waitFor({ timeout: 15_000 });
    expect(await message.textContent()).toContain('tp: ');
    expect(await page.getByTestId('desktop-status').textContent()).toBe('ended');
    b.takeErrors();
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
