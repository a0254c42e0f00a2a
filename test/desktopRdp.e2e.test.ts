import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { Xrdp } from './fixtures/xrdp.ts';
import { startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { type OperatorCluster, PASSWORD, startOperatorCluster } from './helpers/operatorCluster.ts';
import { nearColour, rdpCanvasPixel, rdpCanvasSize, rdpScreenPoint, rdpShownBox } from './helpers/rdpCanvas.ts';
import {
  type RdpStack,
  rdpAgentConfig,
  rdpBrowserMissing,
  startRdpStack,
  waitDesktopsOnline,
} from './helpers/rdpDesktopStack.ts';
import { userPage } from './helpers/webLogin.ts';
import type { Xvnc } from './helpers/xvnc.ts';

// RDP desktops in the browser, end to end: Chromium runs IronRDP's web client (WASM) from the web UI; its WebSocket
// goes to the proxy of a real `tp start`, which relays it to a separate `tp agent start` process (plugin
// desktop-rdp, the RDCleanPath gateway), which dials a real xrdp (TLS, no NLA) fronting a TigerVNC Xvnc whose root
// window has a known colour. The page must show that colour, type into an xterm on it, refuse what the roles deny
// with the gate's reason, and end within about a second when the user is locked.
const missing = rdpBrowserMissing;
if (missing) console.warn(`SKIPPING the RDP desktop browser tests: ${missing}`);

/** True for the root colour (#3366cc). */
const near = nearColour([0x33, 0x66, 0xcc]);
let x: Xvnc;
let xrdp: Xrdp;
let c: OperatorCluster;
let b: TestBrowser;
let base: string;
let stack: RdpStack;
let typed: string;

/** A page of `user` (a browser context of its own), logged in, connecting to `desktop` from the Desktops page. */
async function connectFromList(user: string, desktop: string): Promise<Page> {
  const page = await userPage(b, base, user, PASSWORD);
  await page.goto(`${base}/web/desktops`);
  await page.getByRole('button', { name: `Connect to ${desktop}` }).click();
  return page;
}

/** Waits for the root colour at the canvas's (10, 10); saves a screenshot and says what it saw when it does not come. */
async function rootColour(page: Page, name: string): Promise<void> {
  await waitFor('the root colour on the canvas', async () => near(await rdpCanvasPixel(page, 10, 10)), 15_000).catch(
    async (e) => {
      await b.screenshot(page, `${name}-failed`);
      throw new Error(`${e}: ${await rdpCanvasPixel(page, 10, 10)}`);
    },
  );
}

/** Waits for the RDP session to be connected; when it ends instead (or neither comes), says what the page shows. */
async function connected(page: Page): Promise<void> {
  const status = page.getByTestId('desktop-status');
  const settled = async () => ['connected', 'ended'].includes((await status.textContent()) ?? '');
  await waitFor('the session connected or ended', settled, 20_000).catch(() => undefined);
  if ((await status.textContent()) !== 'connected')
    throw new Error(
      `not connected\nerrors: ${b.errors.join('\n')}\npage: ${await page.locator('main').textContent()}\n${xrdp.log().slice(-2000)}`,
    );
}

describe.skipIf(missing !== undefined)('RDP desktops in the browser', () => {
  beforeAll(async () => {
    stack = await startRdpStack('#3366cc', 'tp-rdp-e2e-');
    ({ x, xrdp, typed } = stack);
    c = await startOperatorCluster(
      stack.dir,
      'rdp.e2e',
      'metadata: {name: desk-dev}\nspec:\n  allow:\n    desktop_labels: {env: dev}\n    desktop_logins: [tp, "*"]\n',
    );
    // xrdp hands the RDP password to the VNC server: the agent's account for win1 logs in with the VNC password.
    await c.startAgent(
      'rdp',
      rdpAgentConfig([
        { name: 'win1', addr: xrdp.addr, env: 'dev', username: 'tp', passwordFile: stack.pwFile },
        { name: 'win-typed', addr: xrdp.addr, env: 'dev' },
        { name: 'win-prod', addr: xrdp.addr, env: 'prod' },
      ]),
    );
    await c.admin(['users', 'add', 'bob', '--roles', 'desk-dev', '--password-stdin'], PASSWORD);
    await c.admin(
      ['roles', 'create', '-f', '-'],
      'metadata: {name: no-clip}\nspec:\n  options: {desktop_clipboard: false}\n',
    );
    await c.admin(
      ['roles', 'create', '-f', '-'],
      'metadata: {name: watch}\nspec:\n  options: {desktop_view_only: true}\n',
    );
    await c.admin(['users', 'add', 'vera', '--roles', 'desk-dev,watch', '--password-stdin'], PASSWORD);
    await c.admin(['users', 'add', 'cleo', '--roles', 'desk-dev,no-clip', '--password-stdin'], PASSWORD);
    base = `https://localhost:${c.proxy.split(':')[1]}`;
    await waitDesktopsOnline(c, 2, 'the RDP desktops online');
    b = await startBrowser(c.proxy);
  });
  afterAll(async () => {
    await b?.close();
    await c?.close();
    await stack?.close();
  });

  test('win1 (agent credentials) opens from the Desktops page: IronRDP draws the X root colour, keys reach an xterm', async () => {
    const page = await userPage(b, base, 'alice', PASSWORD);
    // The login page and the app shell never fetch the RDP client's chunk; the RDP view does.
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/web/assets/') && r.url().endsWith('.js')) scripts.push(new URL(r.url()).pathname);
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Desktops' }).click();
    const row = page.locator('tr[data-desktop="win1"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('RDP');
    expect(await page.locator('tr[data-desktop="win-prod"]').count()).toBe(0);
    expect(scripts.filter((s) => s !== '/web/assets/app.js')).toEqual([]);
    await row.getByRole('button', { name: 'Connect to win1' }).click();
    await connected(page);
    expect(scripts.some((s) => /^\/web\/assets\/chunk-[a-z0-9]+\.js$/.test(s))).toBe(true);
    // No credential prompt: the agent logs in with its own account.
    expect(await page.getByLabel('User name on the desktop').count()).toBe(0);
    await rootColour(page, 'desktop-rdp-win1');
    expect(near(await rdpCanvasPixel(page, 790, 20))).toBe(true);
    // The xterm is not the root colour: the canvas shows the real screen, not a fill.
    expect(near(await rdpCanvasPixel(page, 420, 320))).toBe(false);
    await b.screenshot(page, 'desktop-rdp-win1');
    const at = await rdpScreenPoint(page, 500, 340);
    await page.mouse.click(at.x, at.y);
    await page.keyboard.type('hello rdp');
    await page.keyboard.press('Enter');
    await waitFor('the typed line at the X server', () => {
      try {
        return readFileSync(typed, 'utf8') === 'hello rdp';
      } catch {
        return false;
      }
    });
    // The browser's clipboard, sent on a click, reaches the X clipboard.
    await page.evaluate(`navigator.clipboard.writeText('from the browser')`);
    await page.getByRole('button', { name: 'Send my clipboard' }).click();
    await waitFor('the X clipboard', async () => (await x.clipboard()) === 'from the browser', 10_000).catch((e) => {
      throw new Error(
        `${e}\n${xrdp
          .log()
          .split('\n')
          .filter((l) => /clip/i.test(l))
          .join('\n')}`,
      );
    });
    // And the other way: what the desktop copies, copied into the browser's clipboard on a click.
    await x.x(['sh', '-c', 'printf %s "from the desktop" | xclip -selection clipboard -i >/dev/null 2>&1']);
    const copy = page.getByRole('button', { name: "Copy the desktop's clipboard" });
    await waitFor('the desktop offering its clipboard', () => copy.isEnabled(), 10_000);
    await copy.click();
    await waitFor(
      "the desktop's clipboard in the browser",
      async () => (await page.evaluate('navigator.clipboard.readText()')) === 'from the desktop',
    );
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForURL(/\/web\/desktops$/);
    expect(b.takeErrors()).toEqual([]);
  });

  test('win-typed (no agent credentials): the page asks for the account, and what is typed logs in', async () => {
    const page = await connectFromList('alice', 'win-typed');
    await page.getByLabel('User name on the desktop').fill('alice');
    // xrdp hands the RDP password to the VNC server.
    await page.getByLabel('Password', { exact: true }).fill(x.password);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await connected(page);
    await rootColour(page, 'desktop-rdp-typed');
    // Scaled to the window: a smaller window shows the whole desktop, smaller (Debian's xrdp 0.9 cannot resize a
    // session, so the desktop keeps the size it was opened at).
    const before = await rdpCanvasSize(page);
    await page.setViewportSize({ width: 900, height: 700 });
    await waitFor('the screen fitted into the window', async () => (await rdpShownBox(page)).right <= 900);
    expect(await rdpCanvasSize(page)).toEqual(before);
    await rootColour(page, 'desktop-rdp-resized');
    // Full screen puts the desktop's frame, not the page, in full screen.
    await page.getByRole('button', { name: 'Full screen' }).click();
    await waitFor(
      'full screen',
      async () => (await page.evaluate('document.fullscreenElement?.className')) === 'desktop-frame',
    );
    await page.evaluate('document.exitFullscreen()');
    expect(b.takeErrors()).toEqual([]);
  });

  test('a role turning the clipboard off: the page says so and offers no clipboard buttons; the desktop still works', async () => {
    const page = await connectFromList('cleo', 'win1');
    await connected(page);
    await page.getByText('The clipboard is turned off for this desktop by your roles.').waitFor();
    expect(await page.getByRole('button', { name: 'Send my clipboard' }).count()).toBe(0);
    await rootColour(page, 'desktop-rdp-no-clip');
    expect(b.takeErrors()).toEqual([]);
  });

  test('a view-only role: the page says so, the screen takes no input, Ctrl+Alt+Del is off; the screen still shows', async () => {
    const page = await connectFromList('vera', 'win1');
    await connected(page);
    await page.getByText('View only: your roles let you watch this desktop, not use it.').waitFor();
    expect(await page.getByRole('button', { name: 'Ctrl+Alt+Del' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('desktop-screen').getAttribute('inert')).not.toBeNull();
    await rootColour(page, 'desktop-rdp-view-only');
    expect(b.takeErrors()).toEqual([]);
  });

  test("a desktop whose labels the roles do not reach: a link to it says why, in the gate's words", async () => {
    const page = await userPage(b, base, 'alice', PASSWORD);
    await page.goto(`${base}/web/desktops/win-prod`);
    await page.getByRole('button', { name: 'Open the desktop' }).click();
    await page.getByTestId('desktop-message').getByText('access to desktop "win-prod" is not allowed').waitFor();
    expect(await page.getByTestId('desktop-status').textContent()).toBe('ended');
    b.takeErrors();
  });

  test('a lock on the user ends the open RDP session within about a second, and the page shows the lock', async () => {
    const page = await connectFromList('bob', 'win1');
    await connected(page);
    await rootColour(page, 'desktop-rdp-bob');
    await c.admin(['locks', 'add', '--user', 'bob', '--message', 'offboarded']);
    const locked = Date.now();
    await page.getByTestId('desktop-status').getByText('ended').waitFor({ timeout: 5_000 });
    expect(Date.now() - locked).toBeLessThan(1500);
    await page.getByTestId('desktop-message').getByText('offboarded').waitFor({ timeout: 5_000 });
    b.takeErrors();
  });
});
