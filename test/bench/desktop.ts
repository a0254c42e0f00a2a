// `just bench` desktop section: a full-screen update loop (non-incremental FramebufferUpdateRequest, wait for the
// whole update, again) against a real Xvnc, through tp (TLS to the proxy on tp-desktop-vnc → tunnel → agent, which
// walks and records every byte) beside the same loop straight to the VNC server (VncAuth), in the same run.
import { connect } from 'node:tls';
import * as v from 'valibot';
import { formatAuthorizedKey, sshPublicBlob } from '../../core/crypto/keys.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { parseHostPort } from '../../core/net/index.ts';
import { readHeader } from '../../core/tunnel/header.ts';
import { clientKeys, startTestCluster, TEST_CONFIG, waitFor } from '../helpers/cluster.ts';
import { RfbClient } from '../helpers/rfbClient.ts';
import { startXvnc, xvncMissing } from '../helpers/xvnc.ts';
import type { Row } from './table.ts';

/** Frames and bytes per second of `seconds` of full-screen updates in `encoding` on a client past its handshake. */
async function loop(c: RfbClient, encoding: number, seconds: number): Promise<{ fps: number; mbps: number }> {
  c.setPixelFormat32();
  c.setEncodings([encoding]);
  let frames = 0;
  let bytes = 0;
  const onData = (b: Buffer) => {
    bytes += b.length;
  };
  c.sock.on('data', onData);
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 && frames < 100_000) {
    c.requestUpdate(false);
    await c.until('update');
    frames++;
  }
  const s = (performance.now() - t0) / 1000;
  c.sock.off('data', onData);
  return { fps: frames / s, mbps: bytes / 1e6 / s };
}

/** The desktop figures; BENCH_DESKTOP_SECONDS (default 3) per loop, BENCH_DESKTOP_SIZE (default 1280x720). */
export async function benchDesktop(): Promise<Row[]> {
  if (xvncMissing) {
    console.error(`desktop section skipped: ${xvncMissing}`);
    return [];
  }
  const seconds = Number(process.env.BENCH_DESKTOP_SECONDS ?? 3);
  const [width, height] = (process.env.BENCH_DESKTOP_SIZE ?? '1280x720').split('x').map(Number) as [number, number];
  const xvnc = await startXvnc({ width, height });
  // Something to draw besides the background: an xterm full of text.
  xvnc.spawn(['xterm', '-geometry', '160x50+0+0', '-e', 'sh', '-c', 'ls -lR /usr/share | head -2000; sleep 600']);
  // BENCH_DESKTOP_RECORDING=off measures the path without the session recording (on by default, as in tp start).
  const off = process.env.BENCH_DESKTOP_RECORDING === 'off';
  const config = off
    ? `${TEST_CONFIG.replace('second_factor: "off"', 'second_factor: "off", session_recording: "off"')}`
    : undefined;
  const cluster = await startTestCluster({ config });
  try {
    const flag = `bench=vnc://127.0.0.1:${xvnc.port}?password_file=${xvnc.passwordFile}`;
    await cluster.addAgent({ name: 'vnc-bench', pluginFlags: { desktop: [flag] } });
    await cluster.auth.client.createUser({ name: 'alice', roles: ['access'], password: 'correct horse battery' });
    await waitFor('the desktop', () =>
      cluster.proxy.view.resolveResource('desktop', 'bench').then(Boolean, () => false),
    );
    const k = clientKeys();
    const signed = await cluster.auth.client.signUser({
      username: 'alice',
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
    });
    const ca = requireHostIdentity(cluster.layout.proxyDir).tlsCa;
    const key = k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const viaTp = async () => {
      const [host, port] = parseHostPort(cluster.proxy.addr);
      const sock = connect({ host, port, ca, cert: signed.tlsCert, key, ALPNProtocols: ['tp-desktop-vnc'] });
      sock.setNoDelay(true);
      await new Promise((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
      sock.write(`${JSON.stringify({ v: 1, target: 'bench', route: {} })}\n`);
      await readHeader(sock, v.looseObject({ ok: v.literal(true) }), 64 * 1024, 10_000);
      const c = new RfbClient(sock);
      await c.handshake();
      return c;
    };
    const direct = async () => {
      const { connect: tcp } = await import('node:net');
      const c = new RfbClient(tcp({ host: '127.0.0.1', port: xvnc.port }).setNoDelay(true));
      await c.handshake(xvnc.password);
      return c;
    };
    const rows: Row[] = [];
    for (const [name, encoding] of [
      ['Raw', 0],
      ['ZRLE', 16],
    ] as const) {
      const measure = async (open: () => Promise<RfbClient>) => {
        const c = await open();
        try {
          return await loop(c, encoding, seconds);
        } finally {
          c.close();
        }
      };
      const ref = await measure(direct);
      const tp = await measure(viaTp);
      const figure = `desktop ${width}x${height} full-screen ${name} updates${off ? ', not recorded' : ''}`;
      const referenceName = 'straight to Xvnc';
      rows.push({ figure, tp: tp.fps, reference: ref.fps, referenceName, unit: 'frames/s', higherIsBetter: true });
      rows.push({ figure, tp: tp.mbps, reference: ref.mbps, referenceName, unit: 'MB/s', higherIsBetter: true });
    }
    return rows;
  } finally {
    await cluster.close();
    await xvnc.close();
  }
}

if (import.meta.main) {
  const { printTable } = await import('./table.ts');
  printTable(await benchDesktop());
  process.exit(0);
}
