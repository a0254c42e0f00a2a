// `just bench` db section, MariaDB: the stock mariadb client through tp (`tp proxy db --tunnel` → proxy → agent →
// server) beside the same client logging in straight to the server over TLS, in the same run, as ratios.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTlsCA } from '../../core/crypto/x509.ts';
import { startMariaCluster } from '../helpers/mariaCluster.ts';
import { MARIADB, mariadbMissing } from '../helpers/mariadbServer.ts';
import { freePort } from '../helpers/sshd.ts';
import { startTpDaemon } from '../helpers/tpDaemon.ts';
import { withCpu } from './cpu.ts';
import type { Row } from './table.ts';

/** Runs mariadb with `args`, SQL from `stdinFile`, output counted and dropped; resolves with bytes and seconds. */
async function timed(args: string[], stdinFile: string): Promise<{ bytes: number; seconds: number }> {
  const t0 = performance.now();
  const p = Bun.spawn([MARIADB.client!, ...args, '-N', '-B'], {
    stdin: Bun.file(stdinFile),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let bytes = 0;
  for await (const chunk of p.stdout) bytes += chunk.length;
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) throw new Error(`mariadb failed: ${err.trim()}`);
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

/** The better of two runs each, alternating, so a neighbour's burst on the shared machine does not decide it. */
async function bestOf(direct: () => Promise<number>, viaTp: () => Promise<number>): Promise<[number, number]> {
  const d: number[] = [];
  const t: number[] = [];
  for (let i = 0; i < 2; i++) {
    d.push(await direct());
    t.push(await viaTp());
  }
  return [Math.max(...d), Math.max(...t)];
}

/** The MariaDB figures; BENCH_MYSQL_QUERIES (default 20000) and BENCH_MYSQL_MB (default 200) size them. */
export async function benchMysql(): Promise<Row[]> {
  if (mariadbMissing) {
    console.error(`db section (MariaDB) skipped: ${mariadbMissing}`);
    return [];
  }
  const queries = Number(process.env.BENCH_MYSQL_QUERIES ?? 20_000);
  const rows = Math.round((Number(process.env.BENCH_MYSQL_MB ?? 200) * 1e6) / 100_000);
  const directCa = await createTlsCA('bench-direct', Date.now());
  const c = await startMariaCluster({ trustClientCas: [directCa.cert] });
  try {
    await c.addUser('bench');
    await c.login('bench');
    const port = await freePort();
    const tunnel = await startTpDaemon(
      ['proxy', 'db', 'maria1', '--tunnel', '--port', String(port), '--db-user', 'alice'],
      /Ctrl\+C stops the tunnel/,
      c.as('bench'),
    );
    try {
      const cert = await c.maria.pki.clientCert('alice', directCa);
      const conn = ['--no-defaults', '-h', '127.0.0.1', '-u', 'alice'];
      const direct = [...conn, '-P', String(c.maria.port), `--ssl-ca=${c.maria.caPath}`];
      direct.push(`--ssl-cert=${cert.certPath}`, `--ssl-key=${cert.keyPath}`, '--ssl-verify-server-cert');
      const viaTp = [...conn, '-P', String(port), '--skip-ssl'];
      const selects = join(c.dir, 'select1.sql');
      writeFileSync(selects, 'select 1;\n'.repeat(queries));
      const big = join(c.dir, 'big.sql');
      writeFileSync(big, `select repeat(char(65 + seq % 26), 100000) from app.seq_1_to_${rows};\n`);
      const rate = async (args: string[]) => queries / (await timed(args, selects)).seconds;
      const mbps = async (args: string[]) => {
        const r = await timed(args, big);
        return r.bytes / 1e6 / r.seconds;
      };
      // What tp's processes (tp start: proxy, agent, auth with its audit; the tunnel) spend on the runs through it.
      const tpPids = [c.daemon.child.pid, tunnel.child.pid];
      const cpu = { select: 0, big: 0 };
      const counted = (key: keyof typeof cpu, fn: () => Promise<number>) => async () => {
        const t = await withCpu(tpPids, fn);
        cpu[key] += t.cpuMs;
        return t.value;
      };
      const [qRef, qTp] = await bestOf(
        () => rate(direct),
        counted('select', () => rate(viaTp)),
      );
      const [mRef, mTp] = await bestOf(
        () => mbps(direct),
        counted('big', () => mbps(viaTp)),
      );
      const mb = (rows * 100_000) / 1e6;
      const ref = 'mariadb direct TLS';
      return [
        {
          figure: 'mariadb select 1, one connection',
          tp: qTp,
          reference: qRef,
          referenceName: ref,
          unit: 'q/s',
          higherIsBetter: true,
        },
        {
          figure: `mariadb ${Math.round(mb)} MB result`,
          tp: mTp,
          reference: mRef,
          referenceName: ref,
          unit: 'MB/s',
          higherIsBetter: true,
        },
        {
          figure: 'mariadb tp CPU per select 1 (all tp processes)',
          tp: (cpu.select * 1000) / (2 * queries),
          unit: 'µs',
          higherIsBetter: false,
        },
        {
          figure: 'mariadb tp CPU per result MB (all tp processes)',
          tp: cpu.big / (2 * mb),
          unit: 'ms',
          higherIsBetter: false,
        },
      ];
    } finally {
      await tunnel.stop();
    }
  } finally {
    await c.close();
  }
}

if (import.meta.main) {
  const { printTable } = await import('./table.ts');
  printTable(await benchMysql());
  process.exit(0);
}
