import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { webCall, webLogin } from './helpers/accountWeb.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { tpOk } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type DesktopTpCluster, startDesktopTpCluster } from './helpers/desktopTpCluster.ts';
import { startXvnc, type Xvnc, xvncMissing } from './helpers/xvnc.ts';

// A desktop through a real `tp start` from a real tp.yaml (plugin desktop-vnc, the VNC password on the agent only):
// the browser opens lab1 from the Desktops page, the screen changes during the session, and the recording of the
// session replays in the web player, ending on exactly the pixels the live session ended on.
const ready = haveChromium() && !xvncMissing;
if (!ready) console.warn(`SKIPPING the desktop replay tests: ${xvncMissing ?? 'Chromium is not installed'}`);

const PASSWORD = 'correct horse battery staple';
const ROOT = [0x33, 0x66, 0xcc];
const SCREEN = '[data-testid="desktop-screen"] canvas';
let x: Xvnc;
let c: DesktopTpCluster;
let b: TestBrowser;
let base: string;

const pixel = async (page: Page, px: number, py: number) =>
  (await page.evaluate(
    `[...document.querySelector('${SCREEN}').getContext('2d').getImageData(${px}, ${py}, 1, 1).data.slice(0, 3)]`,
  )) as number[];
const screenPng = async (page: Page) => String(await page.evaluate(`document.querySelector('${SCREEN}').toDataURL()`));

/** The screen once it stopped changing: two reads 200 ms apart that agree (polled, at most 10 s). */
async function settledScreen(page: Page): Promise<string> {
  let last = '';
  let now = await screenPng(page);
  await waitFor('the screen to settle', async () => {
    last = now;
    await Bun.sleep(200);
    now = await screenPng(page);
    return now === last;
  });
  return now;
}

describe.skipIf(!ready)('desktop recordings through tp start', () => {
  beforeAll(async () => {
    x = await startXvnc({ width: 640, height: 400, colour: '#3366cc' });
    const addr = `127.0.0.1:${x.port}`;
    c = await startDesktopTpCluster([{ name: 'lab1', addr, labels: { env: 'dev' }, passwordFile: x.passwordFile }]);
    await c.role('metadata: {name: desk}\nspec:\n  allow:\n    desktop_labels: {env: dev}\n');
    await c.user('dana', ['desk'], PASSWORD);
    base = `https://localhost:${c.proxyAddr.split(':')[1]}`;
    const login = await webLogin(`https://${c.proxyAddr}`, { username: 'dana', password: PASSWORD });
    await waitFor(
      'lab1 online in the listing',
      async () => {
        const r = await webCall(`https://${c.proxyAddr}`, 'GET', '/webapi/ui/resources/desktop', {
          session: login.session,
        });
        return JSON.stringify(r.body).includes('"online":true');
      },
      20_000,
    );
    b = await startBrowser(c.proxyAddr);
  });
  afterAll(async () => {
    await b?.close();
    await c?.close();
    await x?.close();
  });

  test('lab1 live through tp start, then its recording replays to the same last screen', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').fill('dana');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Desktops' }).click();
    await page.getByRole('button', { name: 'Connect to lab1' }).click();
    await page.getByTestId('desktop-status').getByText('connected').waitFor({ timeout: 20_000 });
    await waitFor('the root colour on the canvas', async () => `${await pixel(page, 10, 10)}` === `${ROOT}`);
    // The screen changes during the session: the replay must end on the pattern, not the first colour.
    await x.x(['xsetroot', '-mod', '16', '16', '-fg', '#ff8800', '-bg', '#224466']);
    await waitFor('the pattern on the canvas', async () => `${await pixel(page, 10, 10)}` !== `${ROOT}`);
    const live = await settledScreen(page);
    await b.screenshot(page, 'desktop-live-end');
    const sessionId = (await page.getByTestId('desktop-session').textContent())!;
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await waitFor(
      'the complete recording',
      async () => {
        const list = JSON.parse(await tpOk(['recordings', 'ls', '--format', 'json', ...c.admin])) as {
          session_id: string;
          status: string;
        }[];
        return list.some((r) => r.session_id === sessionId && r.status === 'complete');
      },
      30_000,
    );
    await page.goto(`${base}/web/recordings/${sessionId}`);
    await page.getByRole('heading', { name: 'dana on desktop lab1' }).waitFor();
    await page.locator('#speed').selectOption('8');
    await page.getByTestId('player-state').getByText('at the end').waitFor({ timeout: 30_000 });
    const replayed = await settledScreen(page);
    await b.screenshot(page, 'desktop-replay-end');
    expect(replayed).toBe(live);
    expect(b.takeErrors()).toEqual([]);
  });
});
