// `just bench` desktop-web section: the browser's path (desktop.ts measures the tp-desktop-vnc ALPN path). A
// full-screen update loop (FramebufferUpdateRequest, a whole Raw frame back, again) through tp start's proxy
// WebSocket, tunnel and desktop-vnc, beside the same loop straight to the VNC server over TCP, in the same run, with
// the session recorded (tp start's default) and not. BENCH_DESKTOP_SECONDS (default 5) sizes it.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import { webCall, webLogin } from '../helpers/accountWeb.ts';
import { waitFor } from '../helpers/cluster.ts';
import { startDesktopTpCluster } from '../helpers/desktopTpCluster.ts';
import { RfbClient } from '../helpers/rfbClient.ts';
import { startXvnc, xvncMissing } from '../helpers/xvnc.ts';
import type { Row } from './table.ts';

const PASSWORD = 'bench password 123';

/** The desktop WebSocket as a byte stream, once the proxy said `ready`. */
function desktopStream(proxy: string, name: string, cookie: string): Promise<Duplex> {
  const ws = new WebSocket(`wss://${proxy}/webapi/desktops/${name}/connect`, {
    headers: { cookie, origin: `https://${proxy}` },
    rejectUnauthorized: false,
  });
  return new Promise((resolve, reject) => {
    ws.once('message', (data, binary) => {
      const frame = binary ? {} : (JSON.parse(String(data)) as { type?: string; message?: string });
      if (frame.type === 'ready') resolve(createWebSocketStream(ws));
      else reject(new Error(`desktop refused: ${frame.message ?? 'binary before ready'}`));
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`desktop WebSocket: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/**
 * Reads whole-screen Raw updates without copying pixels: bytes are counted off the stream as they come, only the
 * headers are parsed (a copying reader would measure itself, not the path).
 */
class UpdateCounter {
  private chunks: Buffer[] = [];
  private have = 0;
  private wake: (() => void) | undefined;

  constructor(sock: Duplex) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      this.wake?.();
    });
  }

  /** Waits for `n` bytes (at most 30 s) and returns the first `keep` of them (the rest is dropped uncopied). */
  async take(n: number, keep = 0): Promise<Buffer> {
    const deadline = Date.now() + 30_000;
    while (this.have < n) {
      if (Date.now() > deadline) throw new Error(`no ${n} bytes within 30 s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    const head = keep ? Buffer.concat(this.chunks).subarray(0, keep) : Buffer.alloc(0);
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        left -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.have -= n;
    return head;
  }

  /** Reads one FramebufferUpdate of Raw rectangles; returns its size in bytes. */
  async update(): Promise<number> {
    const head = await this.take(4, 4);
    if (head[0] !== 0) throw new Error(`unexpected server message type ${head[0]}`);
    let bytes = 4;
    for (let i = 0, n = head.readUInt16BE(2); i < n; i++) {
      const r = await this.take(12, 12);
      if (r.readInt32BE(8) !== 0) throw new Error(`unexpected encoding ${r.readInt32BE(8)}`);
      const px = r.readUInt16BE(4) * r.readUInt16BE(6) * 4;
      await this.take(px);
      bytes += 12 + px;
    }
    return bytes;
  }
}

/** Frames and bytes per second of whole-screen Raw updates asked for one after another for `seconds`. */
async function updateLoop(
  sock: Duplex,
  seconds: number,
  password?: string,
): Promise<{ fps: number; bytesPerS: number }> {
  const rfb = new RfbClient(sock, 30_000);
  await rfb.handshake(password);
  rfb.setPixelFormat32();
  rfb.setEncodings([0]);
  // From here on the stream is read by the counter alone.
  sock.removeAllListeners('data');
  const counter = new UpdateCounter(sock);
  rfb.requestUpdate(false);
  await counter.update(); // warm-up
  let frames = 0;
  let bytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    rfb.requestUpdate(false);
    bytes += await counter.update();
    frames++;
  }
  const s = (performance.now() - t0) / 1000;
  rfb.close();
  return { fps: frames / s, bytesPerS: bytes / s };
}

/** One tp cluster serving `addr` as bench1: the loop through its proxy. */
async function throughTp(addr: string, passwordFile: string, seconds: number, recording: 'node' | 'off') {
  const c = await startDesktopTpCluster([{ name: 'bench1', addr, labels: { env: 'bench' }, passwordFile }], {
    recording,
  });
  try {
    await c.role('metadata: {name: desk-bench}\nspec:\n  allow:\n    desktop_labels: {"*": "*"}\n');
    await c.user('bench', ['desk-bench'], PASSWORD);
    const base = `https://${c.proxyAddr}`;
    const login = await webLogin(base, { username: 'bench', password: PASSWORD });
    await waitFor(
      'bench1 online',
      async () =>
        JSON.stringify(
          (await webCall(base, 'GET', '/webapi/ui/resources/desktop', { session: login.session })).body,
        ).includes('"online":true'),
      20_000,
    );
    return await updateLoop(await desktopStream(c.proxyAddr, 'bench1', login.session!.cookie), seconds);
  } finally {
    await c.close();
  }
}

/** The desktop figures: frames/s and MB/s through tp (recorded, and not) and straight to Xvnc. */
export async function benchDesktopWeb(): Promise<Row[]> {
  if (xvncMissing) {
    console.error(`desktop-web section skipped: ${xvncMissing}`);
    return [];
  }
  const seconds = Number(process.env.BENCH_DESKTOP_SECONDS ?? 5);
  const x = await startXvnc({ width: 1280, height: 720 });
  try {
    const addr = `127.0.0.1:${x.port}`;
    const direct = await updateLoop(connect({ host: '127.0.0.1', port: x.port }), seconds, x.password);
    const rows: Row[] = [];
    for (const recording of ['node', 'off'] as const) {
      const viaTp = await throughTp(addr, x.passwordFile, seconds, recording);
      const what = `${x.width}x${x.height}, ${recording === 'node' ? 'recorded' : 'recording off'}`;
      const ref = { referenceName: 'Xvnc direct', higherIsBetter: true };
      rows.push(
        {
          figure: `desktop via web socket, Raw updates ${what}`,
          tp: viaTp.fps,
          reference: direct.fps,
          unit: 'frames/s',
          ...ref,
        },
        {
          figure: `desktop via web socket, update bytes ${what}`,
          tp: viaTp.bytesPerS / 1e6,
          reference: direct.bytesPerS / 1e6,
          unit: 'MB/s',
          ...ref,
        },
      );
    }
    return rows;
  } finally {
    await x.close();
  }
}
