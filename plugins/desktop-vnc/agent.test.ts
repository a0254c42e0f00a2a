// The VNC plugin's agent side against a real TigerVNC Xvnc (VncAuth, password file): the handshake it presents,
// the picture, the clipboard both ways, keys typed into an xterm, refusals, and the recording.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { parsePart } from '../../core/audit/recording.ts';
import { waitFor } from '../../test/helpers/cluster.ts';
import { type DesktopHarness, desktopRole, startDesktopHarness } from '../../test/helpers/desktopAgentHarness.ts';
import { RfbClient, RfbRefused } from '../../test/helpers/rfbClient.ts';
import { freePort } from '../../test/helpers/sshd.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';

if (xvncMissing) console.error(`\n!!! desktop-vnc agent tests are SKIPPED: ${xvncMissing}\n`);

let xvnc: Xvnc;
let h: DesktopHarness;
let typed: string;

/** A session through the agent, past the handshake, with one full screen received. */
async function session(login?: string): Promise<RfbClient> {
  const c = await h.open(login);
  await c.handshake();
  c.setPixelFormat32();
  c.setEncodings([0, 1, -223]);
  c.requestUpdate();
  await c.until('update');
  return c;
}

/** Waits until the harness audited `type` matching `want`; returns it. */
async function audited(type: string, want: (e: Record<string, unknown>) => boolean = () => true) {
  await waitFor(type, () => h.events.some((e) => e.type === type && want(e)));
  return h.events.filter((e) => e.type === type && want(e)).at(-1)!;
}

beforeAll(async () => {
  if (xvncMissing) return;
  xvnc = await startXvnc({ colour: '#00c060' });
  typed = join(xvnc.dir, 'typed.txt');
  writeFileSync(typed, '');
  xvnc.spawn(['xterm', '-T', 'typing', '-geometry', '30x4+0+0', '-e', 'sh', '-c', `cat > ${typed}`]);
  await waitFor('the xterm window', async () =>
    (await xvnc.x(['xwininfo', '-name', 'typing'])).includes('Map State: IsViewable'),
  );
  h = await startDesktopHarness(`127.0.0.1:${xvnc.port}`, {
    entry: { password_file: xvnc.passwordFile },
    record: true,
  });
}, 30_000);

afterAll(async () => {
  await h?.close();
  await xvnc?.close();
});

describe.skipIf(!!xvncMissing)('desktop-vnc agent', () => {
  test('the browser gets security None only, the server ServerInit, and the desktop as drawn', async () => {
    const c = await session();
    expect([c.width, c.height]).toEqual([xvnc.width, xvnc.height]);
    // The background (xsetroot) below the xterm, which sits at the top left.
    expect(c.pixel(xvnc.width - 5, xvnc.height - 5)).toBe('#00c060');
    c.close();
    const end = await audited('desktop.session.end');
    const start = h.events.find((e) => e.type === 'desktop.session.start' && e.session_id === end.session_id);
    expect(start).toMatchObject({
      success: true,
      user: 'alice',
      login: 'alice',
      desktop_name: 'lab1',
      protocol: 'vnc',
    });
  });

  test('keys reach an xterm on the desktop', async () => {
    const c = await session();
    c.pointer(20, 20);
    c.type('hello\n');
    await waitFor('the typed line', () => readFileSync(typed, 'utf8').includes('hello\n'));
    c.close();
  });

  test('clipboard both ways when the roles allow it, audited by length only', async () => {
    h.setRoles([desktopRole('desk')]);
    const c = await session();
    c.cutText('from-browser-1');
    await waitFor('the X clipboard', async () => (await xvnc.clipboard()) === 'from-browser-1');
    const sent = await audited('desktop.clipboard.send', (e) => e.success === true);
    expect(sent).toMatchObject({ length: 14 });
    expect(JSON.stringify(sent)).not.toContain('from-browser-1');
    const copy = xvnc.spawn(['sh', '-c', 'printf from-desktop-2 | xclip -selection clipboard -i']);
    await copy.exited;
    expect(await c.until('cut')).toEqual({ type: 'cut', text: 'from-desktop-2' });
    expect(await audited('desktop.clipboard.receive', (e) => e.success === true)).toMatchObject({ length: 14 });
    c.close();
  });

  test('a wrong VNC password in the agent config is a clear error for the user, and audited', async () => {
    const wrong = join(xvnc.dir, 'wrong-pass');
    writeFileSync(wrong, 'not-the-password\n');
    const bad = await startDesktopHarness(`127.0.0.1:${xvnc.port}`, { entry: { password_file: wrong } });
    try {
      const c = await bad.open();
      const err = await c.handshake().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RfbRefused);
      expect((err as RfbRefused).reason).toMatch(/^tp: desktop "lab1": the VNC server refused the agent's password/);
      await waitFor('the refusal', () => bad.events.some((e) => e.type === 'desktop.session.start'));
      const e = bad.events.find((x) => x.type === 'desktop.session.start')!;
      expect(e).toMatchObject({ success: false, user: 'alice', desktop_name: 'lab1' });
      expect(String(e.error)).toContain("refused the agent's password");
      expect(String(e.error)).not.toContain('not-the-password');
    } finally {
      await bad.close();
    }
  });

  test('an unreachable VNC server and a desktop the roles deny are refused with the reason', async () => {
    const gone = await startDesktopHarness(`127.0.0.1:${await freePort()}`);
    try {
      const err = await (await gone.open()).handshake().catch((e: unknown) => e);
      expect((err as RfbRefused).reason).toContain('desktop "lab1"');
    } finally {
      await gone.close();
    }
    h.setRoles([desktopRole('no-dev', { deny: { desktop_labels: { env: 'dev' } } })]);
    try {
      const err = await (await h.open()).handshake().catch((e: unknown) => e);
      expect((err as RfbRefused).reason).toContain('access to desktop "lab1" is not allowed');
      await audited('desktop.session.start', (e) => e.success === false && String(e.error).includes('not allowed'));
    } finally {
      h.setRoles([desktopRole('desk')]);
    }
  });

  test('a session ends within 1 s when its signal aborts (a lock landed, the certificate expired)', async () => {
    const c = await session();
    const t0 = Date.now();
    h.abortAll('user "alice" is locked');
    await waitFor('the session to close', () => c.isClosed, 1_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await audited('desktop.session.end', (e) => String(e.reason).includes('locked'))).toMatchObject({
      reason: 'user "alice" is locked',
    });
  });

  test('the recording holds what the browser received and replays to the same picture', async () => {
    const c = await session();
    c.close();
    const end = await audited('desktop.session.end');
    const dir = join(h.spool, String(end.session_id));
    await waitFor(
      'the final part',
      () => JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')).status === 'complete',
    );
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ kind: 'desktop', serverName: 'lab1', user: 'alice', width: xvnc.width });
    const events = readdirSync(dir)
      .filter((f) => f.startsWith('part-'))
      .sort()
      .flatMap((f) => parsePart(readFileSync(join(dir, f), 'utf8')));
    expect(events.every((e) => e[1] === 'r')).toBe(true);
    const bytes = Buffer.concat(events.map((e) => Buffer.from(e[2], 'base64')));
    expect(bytes.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
    // Replayed into a client that answers nothing back, the bytes draw the same picture.
    const replay = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
    replay.push(bytes);
    const player = new RfbClient(replay, 2_000);
    await player.handshake();
    await player.until('update');
    expect(player.pixel(xvnc.width - 5, xvnc.height - 5)).toBe('#00c060');
  });
});
