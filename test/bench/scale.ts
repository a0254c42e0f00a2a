import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { UpsertedNodeSchema } from '../../core/api/hostSchemas.ts';
import { CreatedUserSchema } from '../../core/api/schemas.ts';
import { login } from '../../core/client/login.ts';
import { requireProfile } from '../../core/client/profile.ts';
import { runSshBench } from '../../core/client/sshBench.ts';
import { type BenchCluster, entry, me, PASSWORD, rssMiB, runOk } from './cluster.ts';
import { median } from './ssh.ts';
import type { Row } from './table.ts';

/** Runs `fn` for 0..n-1 with at most `concurrency` at a time. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Highest session rate (ladder, 4 s per step) at which p99 stays under 1 s with no errors. */
export async function benchSessionRate(c: BenchCluster): Promise<Row[]> {
  process.env.TP_HOME = c.home.TP_HOME;
  const profile = requireProfile();
  let best = 0;
  let bestP99 = 0;
  for (const rate of [5, 10, 20, 40, 80, 160, 320]) {
    const r = await runSshBench({
      profile,
      node: 'node1',
      login: me,
      command: 'true',
      rate,
      durationMs: 4000,
      maxInFlight: 400,
    });
    if (r.errors > 0 || r.skipped > 0 || r.p99 >= 1000) break;
    best = rate;
    bestP99 = r.p99;
  }
  return [
    {
      figure: `sessions/s through the proxy with p99 < 1 s (p99 there ${bestP99.toFixed(0)} ms)`,
      tp: best,
      unit: '/s',
      higherIsBetter: true,
    },
  ];
}

/** Password logins through the proxy (argon2id on every one) and certificate pairs issued, per second. */
export async function benchLogins(c: BenchCluster): Promise<Row[]> {
  // Distinct users: one user is rate-limited to 20 attempts a minute, by design.
  const n = 40;
  const admin = loadAdminIdentity(c.dataDir);
  const api = new ApiClient(admin.servers, admin.tls);
  await pool(n, 4, (i) =>
    api.post(CreatedUserSchema, '/v1/users', {
      name: `login-${i}`,
      roles: ['access'],
      logins: [me],
      password: PASSWORD,
    }),
  );
  const t0 = performance.now();
  await pool(n, 4, (i) => login({ proxy: c.proxy, user: `login-${i}`, password: PASSWORD, trust: { insecure: true } }));
  return [
    {
      figure: 'password logins via proxy (argon2id + SSH + X.509 issued)',
      tp: n / ((performance.now() - t0) / 1000),
      unit: '/s',
      higherIsBetter: true,
    },
  ];
}

/** `tp ls` with 10,000 registered nodes, and the all-in-one process's memory. */
export async function benchListing(c: BenchCluster): Promise<Row[]> {
  const admin = loadAdminIdentity(c.dataDir);
  const api = new ApiClient(admin.servers, admin.tls);
  const count = Number(process.env.BENCH_NODES ?? 10_000);
  await pool(count, 16, (i) =>
    api.post(UpsertedNodeSchema, '/v1/nodes', {
      node: {
        hostId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        name: `sim-${i}`,
        addr: `127.0.0.1:${20000 + (i % 1000)}`,
        labels: { env: i % 2 ? 'prod' : 'dev', rack: `r${i % 40}` },
        agentless: true,
      },
    }),
  );
  const lsMs = await median(3, () => runOk([process.execPath, entry, 'ls', '--format', 'json'], c.home));
  const web = await benchWebNodes(c);
  const textMs = await median(3, () => runOk([process.execPath, entry, 'ls', 'env=prod'], c.home));
  return [
    {
      figure: `tp ls --format json with ${count} nodes (process start to exit)`,
      tp: lsMs,
      unit: 'ms',
      higherIsBetter: false,
    },
    { figure: `tp ls env=prod (table) with ${count} nodes`, tp: textMs, unit: 'ms', higherIsBetter: false },
    {
      figure: `web UI: one page of a search over ${count} nodes (request)`,
      tp: web.searchMs,
      unit: 'ms',
      higherIsBetter: false,
    },
    {
      figure: `web UI: page 41 of env=prod over ${count} nodes (request)`,
      tp: web.labelMs,
      unit: 'ms',
      higherIsBetter: false,
    },
    {
      figure: `all-in-one (auth+proxy+node) RSS with ${count} nodes`,
      tp: rssMiB(c.pid()),
      unit: 'MiB',
      higherIsBetter: false,
    },
  ];
}

/** The web UI's node list over many nodes: a logged-in browser's request for one page, filtered on the proxy. */
async function benchWebNodes(c: BenchCluster): Promise<{ searchMs: number; labelMs: number }> {
  const base = `https://${c.proxy}`;
  const tls = { rejectUnauthorized: false };
  const login = await fetch(`${base}/webapi/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    tls,
  } as RequestInit);
  if (!login.ok) throw new Error(`web login failed: ${await login.text()}`);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const page = (q: string) => async () => {
    const t0 = performance.now();
    const r = await fetch(`${base}/webapi/ui/nodes?${q}`, { headers: { cookie }, tls } as RequestInit);
    if (!r.ok) throw new Error(`web nodes: ${r.status}`);
    await r.json();
    return performance.now() - t0;
  };
  await page('limit=50')();
  return {
    searchMs: await median(5, page('q=sim-99&limit=50')),
    labelMs: await median(5, page('label=env%3Dprod&offset=2000&limit=50')),
  };
}
