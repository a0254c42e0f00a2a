// `just bench` desktop-rdp section: RDP in the browser as a user gets it. Headless Chromium runs the web UI's IronRDP
// client through `tp start` and a separate `tp agent start` (desktop-rdp) to Debian's xrdp fronting a TigerVNC Xvnc.
// Figures: the time from Connect to the desktop's first pixels, and how many whole-screen repaints per second the
// page draws while the X server repaints its root window as fast as it can (measured by what IronRDP hands the
// canvas). There is no direct reference: no other RDP client runs in this browser path (and none is installed
// here), so the reference column holds the repaints the X server made in the same seconds (how many got through).
// BENCH_DESKTOP_SECONDS (default 5) sizes the repaint loop; BENCH_RDP_CONNECTS (default 3) the connects.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startXrdp, xrdpMissing } from '../fixtures/xrdp.ts';
import { haveChromium, startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/cluster.ts';
import { PASSWORD, startOperatorCluster } from '../helpers/operatorCluster.ts';
import { rdpCanvasPixel, rdpCanvasSize } from '../helpers/rdpCanvas.ts';
import { userPage } from '../helpers/webLogin.ts';
import { startXvnc, xvncMissing } from '../helpers/xvnc.ts';
import type { Row } from './table.ts';

const ROOT = [0x33, 0x66, 0xcc];
const near = (p: number[]) => p.length === 3 && p.every((v, i) => Math.abs(v - ROOT[i]!) <= 8);

// Counts the pixels IronRDP puts on any canvas of the page (its dirty rectangles), before the page's scripts run.
const COUNT_DRAWS = `(() => {
  const put = CanvasRenderingContext2D.prototype.putImageData;
  window.__tpDrawn = 0;
  CanvasRenderingContext2D.prototype.putImageData = function (img, x, y, dx, dy, dw, dh) {
    window.__tpDrawn += dw === undefined ? img.width * img.height : dw * dh;
    return put.apply(this, arguments);
  };
})()`;

/** Milliseconds from Connect on the Desktops page to the root colour on IronRDP's canvas. */
async function connectTime(b: TestBrowser, base: string): Promise<{ ms: number; page: Page }> {
  const page = await userPage(b, base, 'alice', PASSWORD, { width: 1320, height: 900 });
  await page.context().addInitScript(COUNT_DRAWS);
  await page.goto(`${base}/web/desktops`);
  const button = page.getByRole('button', { name: 'Connect to bench' });
  await button.waitFor();
  const t0 = performance.now();
  await button.click();
  await waitFor('the first pixels', async () => near(await rdpCanvasPixel(page, 10, 10)), 30_000);
  return { ms: performance.now() - t0, page };
}

/** The desktop-rdp figures, or none (with the reason on stderr) where Chromium, Xvnc or xrdp is missing. */
export async function benchDesktopRdp(): Promise<Row[]> {
  const missing = !haveChromium() ? 'Chromium is not installed' : (xvncMissing ?? xrdpMissing);
  if (missing) {
    console.error(`desktop-rdp section skipped: ${missing}`);
    return [];
  }
  const seconds = Number(process.env.BENCH_DESKTOP_SECONDS ?? 5);
  const connects = Number(process.env.BENCH_RDP_CONNECTS ?? 3);
  const x = await startXvnc({ width: 1280, height: 720, colour: '#3366cc' });
  const xrdp = await startXrdp({ vncPort: x.port });
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-rdp-'));
  const pw = join(dir, 'pw');
  writeFileSync(pw, `${x.password}\n`);
  const c = await startOperatorCluster(
    dir,
    'bench.rdp',
    'metadata: {name: desk-bench}\nspec:\n  allow:\n    desktop_labels: {"*": "*"}\n',
  );
  let b: TestBrowser | undefined;
  try {
    await c.startAgent(
      'rdp-bench',
      'desktops:\n  enabled: true\n  desktops:\n' +
        `    - {name: bench, protocol: rdp, addr: "${xrdp.addr}", username: tp, password_file: "${pw}"}\n`,
    );
    b = await startBrowser(c.proxy);
    const base = `https://localhost:${c.proxy.split(':')[1]}`;
    const times: number[] = [];
    let page: Page | undefined;
    for (let i = 0; i < connects; i++) {
      await page?.context().close();
      const r = await connectTime(b, base);
      times.push(r.ms);
      page = r.page;
    }
    times.sort((p, q) => p - q);
    const { width, height } = await rdpCanvasSize(page!);
    // The X server repaints its whole root window, alternating two colours, counting as it goes.
    const count = join(x.dir, 'repaints');
    const loop = x.spawn([
      'sh',
      '-c',
      `i=0; while :; do xsetroot -solid '#102030'; xsetroot -solid '#3366cc'; i=$((i+2)); echo $i > ${count}; done`,
    ]);
    const made = () => Number(readFileSync(count, 'utf8').trim() || 0);
    await waitFor('the repaint loop', () => {
      try {
        return made() > 0;
      } catch {
        return false;
      }
    });
    const drawn = () => page!.evaluate('window.__tpDrawn') as Promise<number>;
    const [d0, m0, t0] = [await drawn(), made(), performance.now()];
    await waitFor('the measuring window', () => performance.now() - t0 >= seconds * 1000, seconds * 1000 + 5000);
    const [d1, m1, s] = [await drawn(), made(), (performance.now() - t0) / 1000];
    loop.kill();
    const what = `${width}x${height}, through tp start + tp agent start to xrdp/Xvnc`;
    return [
      {
        figure: `desktop-rdp connect to first pixels (median of ${connects}), ${what}`,
        tp: times[Math.floor(times.length / 2)]!,
        unit: 'ms',
        higherIsBetter: false,
      },
      {
        figure: `desktop-rdp whole-screen repaints drawn in Chromium, ${what}`,
        tp: (d1 - d0) / (width * height) / s,
        reference: (m1 - m0) / s,
        referenceName: 'repaints made by X',
        unit: 'frames/s',
        higherIsBetter: true,
      },
    ];
  } finally {
    await b?.close();
    await c.close();
    await xrdp.close();
    await x.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
