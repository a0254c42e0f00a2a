// `just bench` apps section: HTTP requests per second and p99 latency to a web app through tp (tp start, the proxy's
// app host by SNI with the app certificate `tp apps login` wrote, the agent, the upstream) beside the same requests
// straight to the upstream (Bun.serve), in the same run, from the same bounded keep-alive loop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { Output } from '../../cmd/lib/outputSchemas.ts';
import { startAppsCliCluster } from '../helpers/appsCliCluster.ts';
import { tpOk } from '../helpers/cli.ts';
import { waitFor } from '../helpers/cluster.ts';
import type { Row } from './table.ts';

/** What a load run measured: requests answered, the wall time, and each request's latency (ms). */
interface Load {
  requests: number;
  ms: number;
  latencies: number[];
}

/**
 * Sends `GET /bench` again and again on one keep-alive connection until `until` (or `max` requests), each answer read
 * whole (its Content-Length) before the next request; the latencies are pushed to `out`.
 */
async function keepAliveLoop(sock: Duplex, host: string, until: number, max: number, out: number[]): Promise<number> {
  const req = Buffer.from(`GET /bench HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let closed = false;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  sock.on('close', () => {
    closed = true;
    wake?.();
  });
  const more = () => new Promise<void>((r) => (wake = r));
  let n = 0;
  while (performance.now() < until && n < max) {
    const t0 = performance.now();
    sock.write(req);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 200')) throw new Error(`the app answered ${head.split('\r\n')[0]}`);
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
        if (!Number.isFinite(len)) throw new Error('an answer without Content-Length');
        if (buf.length >= end + 4 + len) {
          buf = buf.subarray(end + 4 + len);
          break;
        }
      }
      if (closed) throw new Error('the connection closed mid-run');
      await more();
    }
    out.push(performance.now() - t0);
    n++;
  }
  sock.destroy();
  return n;
}

/** `connections` keep-alive loops at once for `ms` (each at most `max` requests). */
async function load(
  open: () => Promise<Duplex>,
  host: string,
  connections: number,
  ms: number,
  max: number,
): Promise<Load> {
  const socks = await Promise.all(Array.from({ length: connections }, open));
  const latencies: number[] = [];
  const t0 = performance.now();
  const counts = await Promise.all(socks.map((s) => keepAliveLoop(s, host, t0 + ms, max, latencies)));
  return { requests: counts.reduce((a, b) => a + b, 0), ms: performance.now() - t0, latencies };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;

/** The apps figures; BENCH_APPS_MS (default 5000) per run, BENCH_APPS_CONNECTIONS (default 8) at once. */
export async function benchApps(): Promise<Row[]> {
  const ms = Number(process.env.BENCH_APPS_MS ?? 5_000);
  const connections = Number(process.env.BENCH_APPS_CONNECTIONS ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-apps-'));
  const c = await startAppsCliCluster(dir);
  try {
    const env = c.home.alice;
    await waitFor('grafana listed', async () => (await tpOk(['apps', 'ls'], { env })).includes('grafana'), 20_000);
    await tpOk(['apps', 'login', 'grafana'], { env });
    const cfg = JSON.parse(
      await tpOk(['apps', 'config', 'grafana', '--format', 'json'], { env }),
    ) as Output<'apps config'>;
    const tls = { cert: readFileSync(cfg.cert), key: readFileSync(cfg.key), ca: readFileSync(cfg.ca) };
    const host = cfg.public_addr;
    const viaTp = () =>
      new Promise<Duplex>((resolve, reject) => {
        const s = tlsConnect({
          host: '127.0.0.1',
          port: c.port,
          servername: host.replace(/:\d+$/, ''),
          ...tls,
          ALPNProtocols: ['http/1.1'],
        });
        s.once('secureConnect', () => resolve(s));
        s.once('error', reject);
      });
    const direct = () =>
      new Promise<Duplex>((resolve, reject) => {
        const s = tcpConnect({ host: '127.0.0.1', port: Number(c.upstream.port) }, () => resolve(s));
        s.once('error', reject);
      });
    // The agent relay path alone: the plugin's ALPN id in the default framing, bytes spliced at the proxy.
    const viaAlpn = async () => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: c.port,
        ...tls,
        ALPNProtocols: ['tp-app-http'],
        checkServerIdentity: () => undefined,
      });
      await new Promise<void>((resolve, reject) => {
        s.once('secureConnect', resolve);
        s.once('error', reject);
      });
      s.write(`${JSON.stringify({ v: 1, target: 'grafana' })}\n`);
      await new Promise<void>((resolve, reject) => {
        let line = '';
        const onData = (d: Buffer) => {
          line += d.toString('latin1');
          const nl = line.indexOf('\n');
          if (nl < 0) return;
          s.off('data', onData);
          s.pause();
          if (!line.startsWith('{"ok":true')) return reject(new Error(`refused: ${line.slice(0, nl)}`));
          if (nl + 1 < line.length) s.unshift(Buffer.from(line.slice(nl + 1), 'latin1'));
          resolve();
        };
        s.on('data', onData);
      });
      s.resume();
      return s as Duplex;
    };
    const directHost = `127.0.0.1:${c.upstream.port}`;
    // A short warm-up each way (JIT, the agent's token, connection set-up), then the measured runs.
    await load(viaTp, host, 2, 500, 1_000);
    await load(direct, directHost, 2, 500, 1_000);
    const ref = await load(direct, directHost, connections, ms, 1_000_000);
    const tp = await load(viaTp, host, connections, ms, 1_000_000);
    const relay = await load(viaAlpn, host, connections, ms, 1_000_000);
    const reference = 'straight to the upstream (Bun.serve)';
    return [
      {
        figure: `app requests/s, ${connections} keep-alive connections, ${ms} ms`,
        tp: (tp.requests * 1000) / tp.ms,
        reference: (ref.requests * 1000) / ref.ms,
        referenceName: reference,
        unit: 'req/s',
        higherIsBetter: true,
      },
      {
        figure: `app requests/s by the plugin's ALPN id (agent relay path, no app host), ${connections} connections`,
        tp: (relay.requests * 1000) / relay.ms,
        reference: (ref.requests * 1000) / ref.ms,
        referenceName: reference,
        unit: 'req/s',
        higherIsBetter: true,
      },
      {
        figure: `app request p99 latency, ${connections} connections`,
        tp: p99(tp.latencies),
        reference: p99(ref.latencies),
        referenceName: reference,
        unit: 'ms',
        higherIsBetter: false,
      },
    ];
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
