import WebSocket from 'ws';
import { type BenchCluster, me, PASSWORD } from './cluster.ts';
import { median } from './ssh.ts';
import type { Row } from './table.ts';

/** Opens the web terminal and resolves once the shell has printed its prompt; the socket stays open. */
function openTerminal(base: string, cookie: string): Promise<{ ws: WebSocket; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const q = new URLSearchParams({ node: 'node1', login: me, cols: '80', rows: '24' });
    const ws = new WebSocket(`wss://${base}/webapi/ui/terminal?${q}`, {
      headers: { cookie, origin: `https://${base}` },
      rejectUnauthorized: false,
    });
    let out = '';
    ws.on('message', (data, binary) => {
      if (!binary) {
        const m = JSON.parse(String(data)) as { type: string; message?: string };
        if (m.type === 'error') reject(new Error(m.message));
        return;
      }
      out += String(data);
      if (/[$#] ?$/.test(out)) resolve({ ws, ms: performance.now() - t0 });
    });
    ws.on('error', reject);
  });
}

/** One keystroke's round trip: sent as the browser sends it, back when the shell echoes it. */
function echo(ws: WebSocket, ch: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const on = (data: Buffer, binary: boolean) => {
      if (binary && String(data).includes(ch)) {
        ws.off('message', on);
        resolve(performance.now() - t0);
      }
    };
    ws.on('message', on);
    ws.send(Buffer.from(ch), { binary: true });
  });
}

/** The web terminal: time from WebSocket open to a shell prompt, and keystroke echo latency, through the proxy. */
export async function benchWeb(c: BenchCluster): Promise<Row[]> {
  const login = await fetch(`https://${c.proxy}/webapi/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  if (!login.ok) throw new Error(`web login failed: ${await login.text()}`);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const openMs = await median(7, async () => {
    const { ws, ms } = await openTerminal(c.proxy, cookie);
    ws.close();
    return ms;
  });
  const { ws } = await openTerminal(c.proxy, cookie);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let i = 0;
  const echoMs = await median(25, () => echo(ws, letters[i++ % letters.length]!));
  ws.close();
  return [
    { figure: 'web terminal: WebSocket open to shell prompt', tp: openMs, unit: 'ms', higherIsBetter: false },
    { figure: 'web terminal: keystroke echo round trip', tp: echoMs, unit: 'ms', higherIsBetter: false },
  ];
}
