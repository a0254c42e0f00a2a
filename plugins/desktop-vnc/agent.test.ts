// The VNC plugin's agent side against a real TigerVNC Xvnc (VncAuth, password file): the handshake it presents,
// the picture, the clipboard policy both ways, view-only sessions, a wrong password, and the recording.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { waitFor } from '../../test/helpers/cluster.ts';
import { type DesktopHarness, startDesktopHarness } from '../../test/helpers/desktopAgentHarness.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';

if (xvncMissing) console.error(`\n!!! desktop-vnc agent tests are SKIPPED: ${xvncMissing}\n`);

let xvnc: Xvnc;
let h: DesktopHarness;

beforeAll(async () => {
  if (xvncMissing) return;
  xvnc = await startXvnc({ colour: '#00c060' });
  h = await startDesktopHarness(`127.0.0.1:${xvnc.port}`, { entry: { password_file: xvnc.passwordFile } });
}, 30_000);

afterAll(async () => {
  await h?.close();
  await xvnc?.close();
});

describe.skipIf(!!xvncMissing)('desktop-vnc agent', () => {
  test('the browser gets security None only and sees the desktop through the agent', async () => {
    const c = await h.open();
    await c.handshake();
    expect([c.width, c.height]).toEqual([xvnc.width, xvnc.height]);
    c.setPixelFormat32();
    c.setEncodings([0]);
    c.requestUpdate();
    await c.until('update');
    expect(c.pixel(5, 5)).toBe('#00c060');
    c.close();
    await waitFor('session end', () => h.events.some((e) => e.type === 'desktop.session.end'));
    const start = h.events.find((e) => e.type === 'desktop.session.start');
    expect(start).toMatchObject({
      success: true,
      user: 'alice',
      login: 'alice',
      desktop_name: 'lab1',
      protocol: 'vnc',
    });
  });
});
