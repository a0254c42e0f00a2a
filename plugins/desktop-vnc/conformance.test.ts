// The plugin conformance suite (core/plugin/conformance.ts) for desktop-vnc, through a real cluster: one agent
// serving a real TigerVNC Xvnc over its reverse tunnel, one direct agent serving the same server under another name,
// both given it with `--desktop NAME=vnc://...?password_file=...`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Duplex } from 'node:stream';
import * as v from 'valibot';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import { openTls } from '../../core/plugin/conformanceWire.ts';
import { readHeader } from '../../core/tunnel/header.ts';
import { tp, tpOk } from '../../test/helpers/cli.ts';
import { startTestCluster, type TestCluster, waitFor } from '../../test/helpers/cluster.ts';
import { desktopConformanceHarness } from '../../test/helpers/desktopConformance.ts';
import { RfbClient } from '../../test/helpers/rfbClient.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';
import desktopPlugin from './index.ts';

if (xvncMissing) console.error(`\n!!! desktop-vnc conformance is SKIPPED: ${xvncMissing}\n`);

let cluster: TestCluster;
let xvnc: Xvnc;
let harness: ConformanceHarness;

/** The RFB handshake through tp (security None), then one full update of the screen. */
async function rfbExchange(sock: Duplex): Promise<void> {
  const c = new RfbClient(sock);
  await c.handshake();
  c.setPixelFormat32();
  c.setEncodings([0]);
  c.requestUpdate();
  await c.until('update');
}

beforeAll(async () => {
  if (xvncMissing) return;
  xvnc = await startXvnc();
  cluster = await startTestCluster({});
  harness = await desktopConformanceHarness(cluster, {
    protocol: 'vnc',
    names: { tunnel: 'lab-tunnel', direct: 'lab-direct' },
    flag: (name) => `${name}=vnc://127.0.0.1:${xvnc.port}?password_file=${xvnc.passwordFile}`,
    exercise: rfbExchange,
  });
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await xvnc?.close();
});

describe.skipIf(!!xvncMissing)('plugin conformance: desktop-vnc', () => {
  for (const c of conformanceChecks(desktopPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);
});

// Beyond the suite, on the same cluster: the recording of a session reaches auth and replays to the same picture.
describe.skipIf(!!xvncMissing)('desktop-vnc recordings', () => {
  test('a session is uploaded as a desktop recording whose bytes replay to the same picture', async () => {
    const creds = await harness.user();
    const sock = await openTls(cluster.proxy.addr, 'tp-desktop-vnc', harness.proxy.ca, creds);
    sock.write(`${JSON.stringify({ v: 1, target: 'lab-tunnel', route: {} })}\n`);
    const answer = await readHeader(sock, v.looseObject({ ok: v.boolean() }), 64 * 1024, 10_000);
    expect(answer.ok).toBe(true);
    const live = new RfbClient(sock);
    await live.handshake();
    live.setPixelFormat32();
    live.setEncodings([0]);
    live.requestUpdate();
    await live.until('update');
    live.close();
    let sid = '';
    await waitFor(
      'the uploaded recording',
      async () => {
        const list = await cluster.auth.client.listRecordings(100);
        const r = list.find((m) => m.kind === 'desktop' && m.serverName === 'lab-tunnel' && m.status === 'complete');
        sid = r?.sessionId ?? '';
        return !!r;
      },
      20_000,
    );
    const rec = await cluster.auth.client.getRecording(sid);
    expect(rec.meta).toMatchObject({ kind: 'desktop', user: 'alice', width: xvnc.width, height: xvnc.height });
    const bytes = Buffer.concat(rec.events.map((e) => Buffer.from(e[2], 'base64')));
    const replay = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
    replay.push(bytes);
    const player = new RfbClient(replay, 2_000);
    await player.handshake();
    await player.until('update');
    expect(player.pixel(xvnc.width - 5, xvnc.height - 5)).toBe(live.pixel(xvnc.width - 5, xvnc.height - 5));
    // tp play cannot show a desktop in a terminal: it says where to play it, and --format json gives the events.
    const admin = ['--data-dir', cluster.auth.dataDir];
    const text = await tp(['play', sid, ...admin]);
    expect(text.code).not.toBe(0);
    expect(text.stderr).toContain('is a desktop session: play it in the web UI');
    const json = JSON.parse(await tpOk(['play', sid, '--format', 'json', ...admin])) as { events: unknown[][] };
    expect(json.events.length).toBe(rec.events.length);
    expect(json.events.every((e) => e[1] === 'r')).toBe(true);
  }, 40_000);
});
