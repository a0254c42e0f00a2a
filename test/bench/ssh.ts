import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileKeysDir } from '../../core/client/profile.ts';
import { type Sshd, startSshd } from '../helpers/sshd.ts';
import { type BenchCluster, me, runOk } from './cluster.ts';
import type { Row } from './table.ts';

const bytes = Number(process.env.BENCH_BYTES ?? 1 << 30);

/** Runs a command with `bytes` of zeros on its stdin. */
async function runUpload(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; err: string; ms: number }> {
  const t0 = performance.now();
  const child = Bun.spawn(cmd, { env: { ...process.env, ...env }, stdout: 'ignore', stderr: 'pipe', stdin: 'pipe' });
  const chunk = new Uint8Array(1 << 20);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    child.stdin.write(chunk);
    await child.stdin.flush();
  }
  await child.stdin.end();
  const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  return { code, err, ms: performance.now() - t0 };
}

/** Median of `n` timed runs (after one warm-up). */
export async function median(n: number, fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/**
 * SSH through the proxy: `tp ssh node true` latency and a 1 GiB upload, beside stock OpenSSH `ssh -J` through an
 * OpenSSH jump sshd to an OpenSSH sshd, both with the same tp user certificate, on loopback, in the same run.
 */
export async function benchSsh(c: BenchCluster): Promise<Row[]> {
  const sshds: Sshd[] = [];
  try {
    const admin = ['--data-dir', c.dataDir];
    const profileKeys = profileKeysDir(c.proxy, c.home.TP_HOME);
    const caFile = join(c.dir, 'user_ca.pub');
    writeFileSync(caFile, (await c.tp(['ca', 'export', '--type', 'user', ...admin])).stdout);
    const hostDir = join(c.dir, 'host');
    await c.tp(['ca', 'sign', '--host', 'localhost', '--principals', '127.0.0.1', '--out', hostDir, ...admin]);
    const sshdConf = [
      `TrustedUserCAKeys ${caFile}`,
      `HostKey ${join(hostDir, 'key')}`,
      `HostCertificate ${join(hostDir, 'key-cert.pub')}`,
    ];
    const jump = await startSshd(sshdConf);
    const target = await startSshd(sshdConf);
    sshds.push(jump, target);
    const jumpCfg = join(c.dir, 'ssh_config');
    writeFileSync(
      jumpCfg,
      `Host *\n  BatchMode yes\n  UserKnownHostsFile ${join(profileKeys, 'known_hosts')}\n  StrictHostKeyChecking yes\n  IdentityFile ${join(profileKeys, 'key')}\n  IdentitiesOnly yes\n`,
    );
    const viaJump = [
      'ssh',
      '-F',
      jumpCfg,
      '-J',
      `${me}@127.0.0.1:${jump.port}`,
      '-p',
      String(target.port),
      `${me}@127.0.0.1`,
    ];
    const rows: Row[] = [];
    const sshMs = await median(7, () => runOk([...viaJump, 'true']));
    const tpMs = await median(7, () =>
      runOk([process.execPath, join(import.meta.dir, '..', '..', 'cmd', 'tp.ts'), 'ssh', 'node1', 'true'], c.home),
    );
    rows.push({
      figure: '`tp ssh node true` (process start to exit)',
      tp: tpMs,
      reference: sshMs,
      referenceName: 'ssh -J, OpenSSH both hops',
      unit: 'ms',
      higherIsBetter: false,
    });
    const config = join(c.dir, 'tp_ssh_config');
    writeFileSync(config, (await c.tp(['config'], c.home)).stdout);
    const viaConfig = ['ssh', '-F', config, '-o', 'BatchMode=yes', 'node1.bench.test'];
    const tpConfigMs = await median(5, () => runOk([...viaConfig, 'true'], c.home));
    rows.push({
      figure: 'OpenSSH ssh via `tp config` (ProxyCommand tp)',
      tp: tpConfigMs,
      reference: sshMs,
      referenceName: 'ssh -J, OpenSSH both hops',
      unit: 'ms',
      higherIsBetter: false,
    });
    const mib = bytes / (1 << 20);
    const refUp = await runUpload([...viaJump, 'cat > /dev/null']);
    const tpUp = await runUpload(
      [process.execPath, join(import.meta.dir, '..', '..', 'cmd', 'tp.ts'), 'ssh', 'node1', 'cat > /dev/null'],
      c.home,
    );
    const cfgUp = await runUpload([...viaConfig, 'cat > /dev/null'], c.home);
    if (tpUp.code || refUp.code || cfgUp.code)
      throw new Error(`upload failed: tp ${tpUp.err} / ssh ${refUp.err} / config ${cfgUp.err}`);
    rows.push({
      figure: `${mib} MiB upload, tp ssh through the proxy`,
      tp: mib / (tpUp.ms / 1000),
      reference: mib / (refUp.ms / 1000),
      referenceName: 'ssh -J',
      unit: 'MiB/s',
      higherIsBetter: true,
    });
    rows.push({
      figure: `${mib} MiB upload, OpenSSH via tp config`,
      tp: mib / (cfgUp.ms / 1000),
      reference: mib / (refUp.ms / 1000),
      referenceName: 'ssh -J',
      unit: 'MiB/s',
      higherIsBetter: true,
    });
    return rows;
  } finally {
    for (const s of sshds) await s.close();
  }
}
