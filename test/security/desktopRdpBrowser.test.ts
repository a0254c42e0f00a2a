// The RDP session policy with the real client: IronRDP in Chromium through a real `tp start` and `tp agent start`
// to xrdp fronting Xvnc, for a role that is view-only with the clipboard off. The session must connect and draw
// (IronRDP's own Connect-Initial read and its clipboard channel handled), while the keys typed into an xterm on the
// desktop never arrive, even with the page's own guard (an inert screen) removed: the agent drops and counts them.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/cluster.ts';
import { type OperatorCluster, PASSWORD, startOperatorCluster } from '../helpers/operatorCluster.ts';
import { nearColour, rdpCanvasPixel, rdpScreenPoint } from '../helpers/rdpCanvas.ts';
import {
  type RdpStack,
  rdpAgentConfig,
  rdpBrowserMissing,
  startRdpStack,
  waitDesktopsOnline,
} from '../helpers/rdpDesktopStack.ts';
import { userPage } from '../helpers/webLogin.ts';

const missing = rdpBrowserMissing;
if (missing) console.warn(`SKIPPING the RDP policy browser tests: ${missing}`);

/** True for the root colour (#339933). */
const near = nearColour([0x33, 0x99, 0x33]);
let stack: RdpStack;
let c: OperatorCluster;
let b: TestBrowser;
let typed: string;

/** The audit events of `type` so far. */
async function audit(type: string): Promise<Record<string, unknown>[]> {
  return JSON.parse(await c.admin(['audit', 'search', '--type', type, '--since', '1h', '--format', 'json']));
}

describe.skipIf(missing !== undefined)('RDP session policy in the browser', () => {
  beforeAll(async () => {
    stack = await startRdpStack('#339933', 'tp-rdp-policy-');
    typed = stack.typed;
    c = await startOperatorCluster(
      stack.dir,
      'rdp.policy',
      'metadata: {name: desk-watch}\nspec:\n  options: {desktop_view_only: true, desktop_clipboard: false}\n' +
        '  allow:\n    desktop_labels: {env: dev}\n    desktop_logins: [tp]\n',
    );
    await c.startAgent(
      'rdp',
      rdpAgentConfig([{ name: 'win1', addr: stack.xrdp.addr, env: 'dev', username: 'tp', passwordFile: stack.pwFile }]),
    );
    b = await startBrowser(c.proxy);
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await c?.close();
    await stack?.close();
  });

  test('view-only with the clipboard off: the desktop draws, typed keys are dropped at the agent', async () => {
    const base = `https://localhost:${c.proxy.split(':')[1]}`;
    const page = await userPage(b, base, 'alice', PASSWORD);
    await waitDesktopsOnline(c, 1, 'win1 online');
    await page.goto(`${base}/web/desktops`);
    await page.getByRole('button', { name: 'Connect to win1' }).click();
    await waitFor('the root colour on the canvas', async () => near(await rdpCanvasPixel(page, 10, 10)), 20_000);
    // The page makes a view-only screen inert; the attacker undoes that, so IronRDP sends the keys.
    await page.evaluate(`document.querySelector('[data-testid=desktop-screen]').inert = false`);
    const at = await rdpScreenPoint(page, 500, 340);
    await page.mouse.click(at.x, at.y);
    await page.keyboard.type('hello rdp');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    let end: Record<string, unknown> | undefined;
    await waitFor(
      'the session end in the audit',
      async () => {
        end = (await audit('desktop.session.end')).find((e) => e.desktop_name === 'win1');
        return end !== undefined;
      },
      20_000,
    );
    // The click and the keys were sent by the page and dropped by the agent, so the xterm never read a line.
    expect(Number(end!.input_dropped)).toBeGreaterThan(10);
    expect(existsSync(typed)).toBe(false);
    const start = (await audit('desktop.session.start')).find((e) => e.session_id === end!.session_id);
    expect(start).toMatchObject({ success: true, login: 'tp', protocol: 'rdp', view_only: true, clipboard: false });
    expect(await audit('desktop.clipboard.send')).toEqual([]);
  }, 90_000);
});
