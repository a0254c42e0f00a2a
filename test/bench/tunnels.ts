// `just bench` tunnels section: simulated agents holding reverse tunnels, and a proxy restart under them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { CreatedTokenSchema, JoinAnswerSchema } from '../../core/api/schemas.ts';
import { describe } from '../../core/errors.ts';
import { newHostKeys } from '../../core/identity/hostIdentity.ts';
import { backoffDelay, DEFAULT_BACKOFF } from '../../core/net/backoff.ts';
import { connectTls } from '../../core/tunnel/bunTls.ts';
import { MuxSession } from '../../core/tunnel/mux.ts';
import { freePort } from '../helpers/sshd.ts';
import { type BenchCluster, entry, proxyGauge, rssMiB } from './cluster.ts';
import { pool } from './scale.ts';
import { startStormProbe } from './stormProbe.ts';
import type { Row } from './table.ts';

/** Prints the tail of the second proxy's logs: a reconnect that never finished needs its story. */
function showProxyLogs(dir: string): void {
  for (const f of readdirSync(dir).filter((n) => n.startsWith('proxy2-')))
    console.error(`--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-4000)}`);
}

/**
 * Simulated agents holding real tunnels (join with a token, Bun TLS + the mux, answering pings): how many one proxy
 * holds, its memory per tunnel, and how long all take to come back after a proxy restart (jittered backoff).
 */
export async function benchTunnels(c: BenchCluster): Promise<Row[]> {
  const n = Number(process.env.BENCH_TUNNELS ?? 10_000);
  const admin = loadAdminIdentity(c.dataDir);
  const api = new ApiClient(admin.servers, admin.tls);
  // A proxy of its own, so its memory is the proxy's alone; simulated agents join at auth directly.
  const proxyToken = (await api.post(CreatedTokenSchema, '/v1/tokens', { roles: ['proxy'], ttlMs: 600_000 })).token;
  const [pPort, jPort, mPort] = [await freePort(), await freePort(), await freePort()];
  const proxyAddr = `127.0.0.1:${pPort}`;
  // Real agents come from many addresses; these all come from 127.0.0.1, so the per-address limit on connections
  // still in their handshake is lifted to measure the proxy, not the limit.
  const proxyConfig = join(c.dir, 'proxy2.yaml');
  writeFileSync(proxyConfig, `proxy: {max_unauthenticated_per_ip: ${n + 1000}}\n`);
  let proxy: ReturnType<typeof Bun.spawn> | undefined;
  const startProxy = async () => {
    proxy = Bun.spawn(
      [
        'sh',
        '-c',
        `ulimit -n 65536 2>/dev/null; exec "${process.execPath}" "${entry}" proxy start --config "${proxyConfig}" --auth-server ${admin.servers[0]} --token ${proxyToken} --listen ${proxyAddr} --ssh-listen 127.0.0.1:${jPort} --metrics-listen 127.0.0.1:${mPort} --data-dir "${join(c.dir, 'proxy2')}"`,
      ],
      {
        stdout: 'pipe',
        stderr: Bun.file(join(c.dir, `proxy2-${Date.now()}.log`)),
        env: { ...process.env, TP_LOG_FORMAT: 'json' },
      },
    );
    const reader = (proxy.stdout as ReadableStream<Uint8Array>).getReader();
    let out = '';
    while (!out.includes('listening')) {
      const { value, done } = await reader.read();
      if (done) {
        showProxyLogs(c.dir);
        throw new Error(`the bench's second proxy exited before listening: ${out}`);
      }
      out += new TextDecoder().decode(value);
    }
    reader.releaseLock();
  };
  await startProxy();
  const probe = await startStormProbe(c, proxyAddr);
  const { token } = await api.post(CreatedTokenSchema, '/v1/tokens', {
    roles: ['node'],
    uses: 'multi',
    ttlMs: 3_600_000,
  });
  const anon = new ApiClient(admin.servers, { insecure: true });
  const joinT0 = performance.now();
  const ids = await pool(n, 16, async (i) => {
    const keys = newHostKeys();
    const r = await anon.post(JoinAnswerSchema, '/v1/join', {
      token,
      role: 'node',
      hostName: `tun-${i}`,
      tlsPublicKey: keys.tlsPublicKey,
    });
    return { cert: r.tlsCert, key: keys.tlsKey, ca: r.tlsCa };
  });
  const joinMs = performance.now() - joinT0;
  await Bun.sleep(1000);
  const before = rssMiB(proxy!.pid);
  let stopping = false;
  /** Why dials failed, by message: shown when not every tunnel came back. */
  const failures = new Map<string, number>();
  const dial = async (id: (typeof ids)[number], attempt = 0): Promise<void> => {
    if (stopping) return;
    try {
      const sock = await connectTls({
        host: '127.0.0.1',
        port: pPort,
        ca: id.ca,
        cert: id.cert,
        key: id.key,
        alpn: 'tp-tunnel',
      });
      const mux = new MuxSession(sock, { side: 'client', keepaliveMs: 0 });
      // Like the agent's tunnel client: a busy proxy's go-away says when to come back.
      mux.onClose(() => {
        const hint = mux.retryAfterMs;
        const delay = hint !== undefined ? hint * (1 + 0.1 * Math.random()) : backoffDelay(DEFAULT_BACKOFF, 0);
        setTimeout(() => void dial(id, hint !== undefined ? attempt + 1 : 0), delay);
      });
    } catch (err) {
      // The proxy is restarting (refused, reset, a handshake cut short): retry like an agent, with jittered backoff.
      failures.set(describe(err).slice(0, 60), (failures.get(describe(err).slice(0, 60)) ?? 0) + 1);
      setTimeout(() => void dial(id, attempt + 1), backoffDelay(DEFAULT_BACKOFF, attempt + 1));
    }
  };
  let lastUp = 0;
  const waitAll = async (limitMs: number) => {
    const t0 = Date.now();
    while (Date.now() - t0 < limitMs) {
      lastUp = await proxyGauge(`127.0.0.1:${mPort}`, 'tp_proxy_tunnels').catch(() => 0);
      if (lastUp >= n) return Date.now() - t0;
      await Bun.sleep(100);
    }
    console.error(`bench tunnels: only ${lastUp} of ${n} tunnels were back after ${limitMs} ms`, failures);
    return Number.NaN;
  };
  try {
    await pool(n, 64, (i) => dial(ids[i]!));
    const upMs = await waitAll(120_000);
    await Bun.sleep(3000);
    const after = rssMiB(proxy!.pid);
    const quietMs = await probe.quiet(5);
    const t0 = Date.now();
    proxy!.kill('SIGKILL');
    await proxy!.exited;
    await startProxy();
    const restartMs = Date.now() - t0;
    // While the fleet comes back: `tp ssh` to the witness, once it is back itself, again and again.
    let storming = true;
    const during: number[] = [];
    let failed = 0;
    const probing = (async () => {
      while (storming) {
        const ms = await probe.once();
        if (ms === undefined) failed++;
        else during.push(ms);
        if (ms === undefined) await Bun.sleep(200);
      }
    })();
    const reconnectMs = restartMs + (await waitAll(180_000));
    if (Number.isNaN(reconnectMs)) showProxyLogs(c.dir);
    storming = false;
    await probing;
    const deferred = await proxyGauge(`127.0.0.1:${mPort}`, 'tp_proxy_tunnels_deferred_total').catch(() => Number.NaN);
    const stormMedian = during.sort((a, b) => a - b)[Math.floor(during.length / 2)] ?? Number.NaN;
    return [
      {
        figure: `tunnels held by one proxy (simulated agents; joined in ${(joinMs / 1000).toFixed(1)} s, up in ${(upMs / 1000).toFixed(1)} s)`,
        tp: n,
        unit: '',
        higherIsBetter: true,
      },
      {
        figure: `proxy process RSS with ${n} tunnels (idle: ${before.toFixed(0)} MiB)`,
        tp: after,
        unit: 'MiB',
        higherIsBetter: false,
      },
      { figure: 'proxy RSS per tunnel', tp: ((after - before) * 1024) / n, unit: 'KiB', higherIsBetter: false },
      {
        figure: `all ${n} tunnels back after kill -9 + restart of the proxy (restart ${(restartMs / 1000).toFixed(1)} s; ${deferred} told to come back later)`,
        tp: reconnectMs / 1000,
        unit: 's',
        higherIsBetter: false,
      },
      {
        figure: `tp ssh to an agent back during that reconnect (${during.length} ok, ${failed} failed while it was away or the proxy refused) vs the same when quiet`,
        tp: stormMedian,
        reference: quietMs,
        referenceName: 'tp ssh, quiet',
        unit: 'ms',
        higherIsBetter: false,
      },
    ];
  } finally {
    stopping = true;
    await probe.stop();
    proxy?.kill('SIGKILL');
    await proxy?.exited;
  }
}
