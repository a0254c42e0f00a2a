// Attacks on a desktop session from the browser's side of the agent, against a real Xvnc: cut text when the roles
// deny the clipboard (both ways), input in a view-only session, oversize and unknown RFB messages, and a browser that
// tries another security type. Streams without a valid user: desktopStreams.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/cluster.ts';
import { type DesktopHarness, desktopRole, startDesktopHarness } from '../helpers/desktopAgentHarness.ts';
import type { RfbClient } from '../helpers/rfbClient.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../helpers/xvnc.ts';

if (xvncMissing) console.error(`\n!!! desktop RFB security tests are SKIPPED: ${xvncMissing}\n`);

let xvnc: Xvnc;
let h: DesktopHarness;
let typed: string;

async function session(): Promise<RfbClient> {
  const c = await h.open();
  await c.handshake();
  c.setPixelFormat32();
  c.setEncodings([0, 1, -223]);
  c.requestUpdate();
  await c.until('update');
  return c;
}

/** Asks for a full update and reads up to it: the server has handled every message the client sent before. */
async function roundTrip(c: RfbClient): Promise<void> {
  c.requestUpdate(false);
  await c.until('update');
}

/** Resolves once the agent closed the session (rejects after 5 s): how it refuses a message it will not pass. */
async function closedByAgent(c: RfbClient): Promise<void> {
  await waitFor('the agent to close the session', () => c.isClosed, 5_000);
}

beforeAll(async () => {
  if (xvncMissing) return;
  xvnc = await startXvnc();
  typed = join(xvnc.dir, 'typed.txt');
  writeFileSync(typed, '');
  xvnc.spawn(['xterm', '-T', 'typing', '-geometry', '30x4+0+0', '-e', 'sh', '-c', `cat > ${typed}`]);
  await waitFor('the xterm window', async () => (await xvnc.x(['xwininfo', '-name', 'typing'])).includes('IsViewable'));
  h = await startDesktopHarness(`127.0.0.1:${xvnc.port}`, { entry: { password_file: xvnc.passwordFile } });
}, 30_000);

afterAll(async () => {
  await h?.close();
  await xvnc?.close();
});

describe.skipIf(!!xvncMissing)('desktop RFB attacks', () => {
  test('cut text from the browser never reaches the desktop when the roles deny the clipboard', async () => {
    h.setRoles([desktopRole('desk'), desktopRole('no-clip', { clipboard: false })]);
    const c = await session();
    c.cutText('stolen-into-desktop');
    await roundTrip(c);
    expect(await xvnc.clipboard()).not.toBe('stolen-into-desktop');
    const e = h.events.find((x) => x.type === 'desktop.clipboard.send' && x.success === false);
    expect(e).toMatchObject({ length: 19, error: 'the clipboard is not allowed by your roles' });
    c.close();
  });

  test('the desktop clipboard never reaches the browser when the roles deny it', async () => {
    h.setRoles([desktopRole('desk'), desktopRole('no-clip', { clipboard: false })]);
    const c = await session();
    await (await xvnc.spawn(['sh', '-c', 'printf secret-on-desktop | xclip -selection clipboard -i'])).exited;
    await waitFor('the dropped server cut text', () =>
      h.events.some((x) => x.type === 'desktop.clipboard.receive' && x.success === false),
    );
    // Everything the agent forwarded before and after the dropped cut text, up to a fresh update: no cut text.
    c.requestUpdate(false);
    for (let m = await c.next(); m.type !== 'update'; m = await c.next()) expect(m.type).not.toBe('cut');
    c.close();
  });

  test('a view-only session types nothing, moves nothing and pastes nothing', async () => {
    h.setRoles([desktopRole('desk')]);
    const writer = await session();
    writer.pointer(20, 20);
    writer.type('before\n');
    await waitFor('the first line', () => readFileSync(typed, 'utf8').includes('before\n'));
    writer.close();
    h.setRoles([desktopRole('desk'), desktopRole('watch', { viewOnly: true })]);
    const watcher = await session();
    watcher.pointer(200, 200, 1);
    watcher.type('viewonly\n');
    watcher.cutText('pasted-by-watcher');
    await roundTrip(watcher);
    watcher.close();
    h.setRoles([desktopRole('desk')]);
    const after = await session();
    after.type('after\n');
    await waitFor('the last line', () => readFileSync(typed, 'utf8').includes('after\n'));
    expect(readFileSync(typed, 'utf8')).toBe('before\nafter\n');
    expect(await xvnc.clipboard()).not.toBe('pasted-by-watcher');
    after.close();
  });

  test('oversize cut text is refused from its header alone, without buffering it', async () => {
    const c = await session();
    const m = Buffer.alloc(8);
    m[0] = 6;
    m.writeUInt32BE(1 << 30, 4);
    c.sock.write(m);
    await closedByAgent(c);
    await waitFor('the audited end', () =>
      h.events.some(
        (e) => e.type === 'desktop.session.end' && String(e.reason).includes('1073741824 bytes of cut text'),
      ),
    );
  });

  test('oversize SetEncodings, extended clipboard and unknown message types end the session', async () => {
    for (const attack of [
      Buffer.from([2, 0, 0xff, 0xff]),
      Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0]),
      Buffer.from([200, 1, 2, 3]),
      Buffer.from([251, 0, 0, 10, 0, 10, 1, 0]),
    ]) {
      const c = await session();
      c.sock.write(attack);
      await closedByAgent(c);
    }
    const reasons = h.events.filter((e) => e.type === 'desktop.session.end').map((e) => String(e.reason));
    expect(reasons.some((r) => r.includes('SetEncodings lists 65535 encodings'))).toBe(true);
    expect(reasons.some((r) => r.includes('extended clipboard'))).toBe(true);
    expect(reasons.some((r) => r.includes('unknown RFB client message type 200'))).toBe(true);
    expect(reasons.some((r) => r.includes('SetDesktopSize before the client asked'))).toBe(true);
  });

  test('a browser cannot pick VncAuth or skip the handshake: only None is offered', async () => {
    const c = await h.open();
    expect((await c.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    c.sock.write('RFB 003.008\n');
    expect([...(await c.read(2))]).toEqual([1, 1]);
    c.sock.write(Buffer.from([2]));
    expect((await c.read(4)).readUInt32BE()).toBe(1);
    await closedByAgent(c);
    const raw = await h.open();
    await raw.read(12);
    raw.sock.write(Buffer.from([3, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0]));
    await closedByAgent(raw);
  });
});
