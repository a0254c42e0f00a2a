// `just soak`: sessions through the proxy at a steady rate for SOAK_MINUTES (default 30), reporting failures,
// the cluster's RSS and open file descriptors over time, so leaks show as growth. Opt-in; never part of CI.
import { readdirSync } from 'node:fs';
import { requireProfile } from '../../core/client/profile.ts';
import { runSshBench } from '../../core/client/sshBench.ts';
import { me, rssMiB, startBenchCluster } from './cluster.ts';

const minutes = Number(process.env.SOAK_MINUTES ?? 30);
const rate = Number(process.env.SOAK_RATE ?? 5);
const windowMs = 30_000;
const c = await startBenchCluster();
process.env.TP_HOME = c.home.TP_HOME;
const profile = requireProfile();
const fds = () => readdirSync(`/proc/${c.pid()}/fd`).length;
const rows: { min: number; ok: number; errors: number; p99: number; rss: number; fds: number }[] = [];
console.log('minute  sessions  errors  p99_ms  cluster_rss_MiB  open_fds');
try {
  const t0 = Date.now();
  while (Date.now() - t0 < minutes * 60_000) {
    const r = await runSshBench({ profile, node: 'node1', login: me, command: 'true', rate, durationMs: windowMs });
    const row = {
      min: (Date.now() - t0) / 60_000,
      ok: r.ok,
      errors: r.errors,
      p99: r.p99,
      rss: rssMiB(c.pid()),
      fds: fds(),
    };
    rows.push(row);
    console.log(
      `${row.min.toFixed(1).padStart(6)}  ${String(row.ok).padStart(8)}  ${String(row.errors).padStart(6)}  ${row.p99.toFixed(0).padStart(6)}  ${row.rss.toFixed(0).padStart(15)}  ${String(row.fds).padStart(8)}`,
    );
    if (r.firstError) console.log(`        first error: ${r.firstError}`);
  }
} finally {
  await c.stop();
}
const first = rows[Math.min(1, rows.length - 1)]!;
const last = rows.at(-1)!;
const failures = rows.reduce((n, r) => n + r.errors, 0);
console.log(
  `\n${rows.reduce((n, r) => n + r.ok, 0)} sessions, ${failures} failed; RSS ${first.rss.toFixed(0)} -> ${last.rss.toFixed(0)} MiB, open fds ${first.fds} -> ${last.fds}`,
);
process.exit(failures ? 1 : 0);
