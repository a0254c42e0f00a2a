import WebSocket from 'ws';

/** What the proxy's desktop WebSocket did first: an HTTP refusal, a JSON text frame, or a close. */
export type DesktopFirst =
  | { kind: 'http'; status: number }
  | { kind: 'frame'; frame: { type: string; message?: string; [k: string]: unknown } }
  | { kind: 'closed'; code: number; reason: string };

/** An open desktop WebSocket as a test drives it: its first answer, then RFB bytes read on demand. */
export interface DesktopSocket {
  ws: WebSocket;
  first: Promise<DesktopFirst>;
  /** Resolves with exactly `n` bytes of the desktop's stream (after the first frame), or rejects on close. */
  read(n: number, ms?: number): Promise<Buffer>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens `/webapi/desktops/<name>/connect` on the proxy as a browser would (Origin and cookie as given). */
export function openDesktopSocket(
  proxyAddr: string,
  name: string,
  h: { origin?: string; cookie?: string },
): DesktopSocket {
  const headers: Record<string, string> = {};
  if (h.origin) headers.origin = h.origin;
  if (h.cookie) headers.cookie = h.cookie;
  const ws = new WebSocket(`wss://${proxyAddr}/webapi/desktops/${name}/connect`, {
    headers,
    rejectUnauthorized: false,
  });
  let buf = Buffer.alloc(0);
  let wake: () => void = () => undefined;
  let settle!: (f: DesktopFirst) => void;
  const first = new Promise<DesktopFirst>((resolve) => {
    settle = resolve;
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      settle({ kind: 'closed', code, reason: String(reason) });
      resolve({ code, reason: String(reason) });
      wake();
    }),
  );
  ws.on('unexpected-response', (_req, res) => settle({ kind: 'http', status: res.statusCode ?? 0 }));
  ws.on('error', () => undefined); // the close (or the HTTP answer) says what happened
  ws.on('message', (data, binary) => {
    if (!binary) settle({ kind: 'frame', frame: JSON.parse(String(data)) });
    else {
      buf = Buffer.concat([buf, data as Buffer]);
      wake();
    }
  });
  const read = async (n: number, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (buf.length < n) {
      if (ws.readyState === ws.CLOSED) throw new Error(`desktop socket closed with ${buf.length} of ${n} bytes`);
      if (Date.now() > deadline) throw new Error(`timed out reading ${n} bytes (have ${buf.length})`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  return { ws, first, read, closed };
}

/** Runs the client half of an RFB 3.8 handshake with security type None; returns the ServerInit's size and name. */
export async function rfbHandshake(d: DesktopSocket): Promise<{ width: number; height: number; name: string }> {
  const version = (await d.read(12)).toString('latin1');
  if (version !== 'RFB 003.008\n') throw new Error(`unexpected RFB version ${JSON.stringify(version)}`);
  d.ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
  const count = (await d.read(1))[0]!;
  const types = [...(await d.read(count))];
  if (!types.includes(1)) throw new Error(`security type None not offered: ${types.join(',')}`);
  d.ws.send(Buffer.from([1]));
  const result = (await d.read(4)).readUInt32BE(0);
  if (result !== 0) throw new Error(`security result ${result}`);
  d.ws.send(Buffer.from([1])); // ClientInit: shared
  const init = await d.read(24);
  const name = (await d.read(init.readUInt32BE(20))).toString('utf8');
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
}
