// `just bench` db section: PostgreSQL through tp (stock clients → `tp proxy db --tunnel` → proxy → agent → server)
// beside the same clients connecting straight to the server over TLS, in the same run, as ratios (goal ≥ 0.8×).
import { createTlsCA } from '../../core/crypto/x509.ts';
import { run } from '../helpers/cli.ts';
import { startPgCluster } from '../helpers/pgCluster.ts';
import { postgresMissing, psqlConninfo } from '../helpers/postgresServer.ts';
import { freePort } from '../helpers/sshd.ts';
import { startTpDaemon } from '../helpers/tpDaemon.ts';
import { withCpu } from './cpu.ts';
import type { Row } from './table.ts';

/** `select 1` per second over one connection for `seconds` (pgbench, simple protocol, `clients` connections). */
async function selectRate(conninfo: string, clients: number, seconds: number, script: string): Promise<number> {
  const r = await run(['pgbench', '-n', '-c', String(clients), '-T', String(seconds), '-f', script, conninfo]);
  const tps = /tps = ([\d.]+)/.exec(r.stdout);
  if (r.code !== 0 || !tps) throw new Error(`pgbench failed (${r.code}): ${r.stderr.trim().split('\n').at(-1)}`);
  return Number(tps[1]);
}

/** MB/s of a `COPY ... TO STDOUT` of `rows` 100-byte rows into /dev/null (psql). */
async function copyRate(conninfo: string, rows: number): Promise<number> {
  const sql = `copy (select repeat('x', 99) from generate_series(1, ${rows})) to stdout`;
  const t0 = performance.now();
  const p = Bun.spawn(['psql', '-X', conninfo, '-c', sql], { stdout: 'ignore', stderr: 'pipe' });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) throw new Error(`psql COPY failed: ${err.trim()}`);
  return (rows * 100) / 1e6 / ((performance.now() - t0) / 1000);
}

/** The PostgreSQL figures; BENCH_PG_SECONDS (default 5) and BENCH_PG_COPY_MB (default 200) size them. */
export async function benchPostgres(): Promise<Row[]> {
  if (postgresMissing) {
    console.error(`db section skipped: ${postgresMissing}`);
    return [];
  }
  const seconds = Number(process.env.BENCH_PG_SECONDS ?? 5);
  const rows = Math.round((Number(process.env.BENCH_PG_COPY_MB ?? 200) * 1e6) / 100);
  const directCa = await createTlsCA('bench-direct', Date.now());
  const c = await startPgCluster({ trustClientCas: [directCa.cert] });
  try {
    await c.addUser('bench');
    await c.login('bench');
    const port = await freePort();
    const tunnel = await startTpDaemon(
      ['proxy', 'db', 'pg1', '--tunnel', '--port', String(port), '--db-user', 'alice', '--db-name', 'postgres'],
      /Ctrl\+C stops the tunnel/,
      c.as('bench'),
    );
    try {
      const viaTp = `host=127.0.0.1 port=${port} user=alice dbname=postgres sslmode=disable`;
      const direct = psqlConninfo(c.pg, 'alice', await c.pg.pki.clientCert('alice', directCa));
      const script = `${c.dir}/select1.sql`;
      await Bun.write(script, 'select 1;\n');
      const out: Row[] = [];
      const tpPids = [c.daemon.child.pid, tunnel.child.pid];
      for (const clients of [1, 4]) {
        // Best of two each, alternating (as for COPY below): the machine is shared, its load comes in bursts.
        const refs: number[] = [];
        const tps: number[] = [];
        for (let i = 0; i < 2; i++) {
          refs.push(await selectRate(direct, clients, seconds, script));
          tps.push(await selectRate(viaTp, clients, seconds, script));
        }
        const [ref, tp] = [Math.max(...refs), Math.max(...tps)];
        out.push({
          figure: `postgres select 1, ${clients} connection${clients > 1 ? 's' : ''}`,
          tp,
          reference: ref,
          referenceName: 'psql direct TLS',
          unit: 'q/s',
          higherIsBetter: true,
        });
      }
      // What tp's processes (tp start: proxy, agent and auth with its audit; the tunnel) spend, whatever the load.
      const queries = 5000;
      const perQuery = await withCpu(tpPids, () =>
        run(['pgbench', '-n', '-c', '1', '-t', String(queries), '-f', script, viaTp]),
      );
      out.push({
        figure: 'postgres tp CPU per select 1 (all tp processes)',
        tp: (perQuery.cpuMs * 1000) / queries,
        unit: 'µs',
        higherIsBetter: false,
      });
      // Best of two each, alternating, so a neighbour's burst on the shared machine does not decide the ratio.
      const refs: number[] = [];
      const tps: number[] = [];
      let copyCpu = 0;
      for (let i = 0; i < 2; i++) {
        refs.push(await copyRate(direct, rows));
        const t = await withCpu(tpPids, () => copyRate(viaTp, rows));
        tps.push(t.value);
        copyCpu += t.cpuMs;
      }
      out.push({
        figure: `postgres COPY TO STDOUT ${Math.round((rows * 100) / 1e6)} MB`,
        tp: Math.max(...tps),
        reference: Math.max(...refs),
        referenceName: 'psql direct TLS',
        unit: 'MB/s',
        higherIsBetter: true,
      });
      out.push({
        figure: 'postgres tp CPU per COPY MB (all tp processes)',
        tp: copyCpu / 2 / ((rows * 100) / 1e6),
        unit: 'ms',
        higherIsBetter: false,
      });
      return out;
    } finally {
      await tunnel.stop();
    }
  } finally {
    await c.close();
  }
}
