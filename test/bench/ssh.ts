import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../../core/client/localUser.ts';
import { type Sshd, startSshd } from '../helpers/sshd.ts';
import type { Row } from './table.ts';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');
const me = localUsername();
const PASSWORD = 'bench password 123';

async function run(
  cmd: string[],
  env: Record<string, string> = {},
  stdin?: 'zero',
): Promise<{ code: number; out: string; err: string; ms: number }> {
  const t0 = performance.now();
  const child = Bun.spawn(cmd, {
    env: { ...process.env, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: stdin ? 'pipe' : 'ignore',
  });
  if (stdin) void feedZeros(child.stdin as import('bun').FileSink);
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, out, err, ms: performance.now() - t0 };
}

let bytes = Number(process.env.BENCH_BYTES ?? 1 << 30);
async function feedZeros(sink: import('bun').FileSink): Promise<void> {
  const chunk = new Uint8Array(1 << 20);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    sink.write(chunk);
    await sink.flush();
  }
  await sink.end();
}

/** Median of `n` timed runs (after one warm-up). */
async function median(n: number, fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/**
 * SSH through the proxy: `tp ssh node true` latency and 1 GiB upload, beside stock OpenSSH `ssh -J` through an
 * OpenSSH jump sshd to an OpenSSH sshd, both with the same tp user certificate, on loopback, in the same run.
 */
export async function benchSsh(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-ssh-'));
  const sshds: Sshd[] = [];
  const cluster = Bun.spawn(
    [process.execPath, entry, 'start', '--config', join(dir, 'tp.yaml'), '--data-dir', join(dir, 'data')],
    {
      stdout: 'pipe',
      stderr: 'ignore',
      env: { ...process.env, TP_LOG_FORMAT: 'json' },
    },
  );
  try {
    writeFileSync(
      join(dir, 'tp.yaml'),
      'cluster_name: bench.test\nauth: {listen: 127.0.0.1:0, second_factor: "off"}\nproxy: {listen: 127.0.0.1:0, ssh_listen: 127.0.0.1:0}\nssh: {name: node1}\n',
    );
    let banner = '';
    const reader = cluster.stdout.getReader();
    while (!banner.includes('then log in')) banner += new TextDecoder().decode((await reader.read()).value);
    const proxy = /proxy:\s+https:\/\/(\S+)/.exec(banner)![1]!;
    const tp = (args: string[], env: Record<string, string> = {}, stdin?: 'zero') =>
      run([process.execPath, entry, ...args], env, stdin);
    const admin = ['--data-dir', join(dir, 'data')];
    await run([
      'sh',
      '-c',
      `echo "${PASSWORD}" | "${process.execPath}" "${entry}" users add bench --roles admin --logins ${me} --password-stdin ${admin.join(' ')}`,
    ]);
    const home = { TP_HOME: join(dir, 'home') };
    await run([
      'sh',
      '-c',
      `echo "${PASSWORD}" | TP_HOME=${home.TP_HOME} "${process.execPath}" "${entry}" login --proxy ${proxy} --user bench --password-stdin --insecure`,
    ]);
    const profileKeys = join(home.TP_HOME, 'keys', proxy.replace(/[^A-Za-z0-9_.-]/g, '_'));

    // Reference: OpenSSH all the way, jump sshd + target sshd trusting the same CA, same certificate.
    const caFile = join(dir, 'user_ca.pub');
    writeFileSync(caFile, (await tp(['ca', 'export', '--type', 'user', ...admin])).out);
    const hostDir = join(dir, 'host');
    await tp(['ca', 'sign', '--host', 'localhost', '--principals', '127.0.0.1', '--out', hostDir, ...admin]);
    const sshdConf = [
      `TrustedUserCAKeys ${caFile}`,
      `HostKey ${join(hostDir, 'key')}`,
      `HostCertificate ${join(hostDir, 'key-cert.pub')}`,
    ];
    const jump = await startSshd(sshdConf);
    const target = await startSshd(sshdConf);
    sshds.push(jump, target);
    const common = [
      '-F',
      'none',
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${join(profileKeys, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-i',
      join(profileKeys, 'key'),
      '-o',
      'IdentitiesOnly=yes',
    ];
    const jumpCfg = join(dir, 'ssh_config');
    writeFileSync(
      jumpCfg,
      `Host *\n  ${common.slice(2).join(' ').replace(/-o /g, '\n  ').replace(/-i /, '\n  IdentityFile ').replace(/=/g, ' ')}\n`,
    );
    const viaJump = (cmd: string, stdin?: 'zero') =>
      run(
        ['ssh', '-F', jumpCfg, '-J', `${me}@127.0.0.1:${jump.port}`, '-p', String(target.port), `${me}@127.0.0.1`, cmd],
        {},
        stdin,
      );

    const rows: Row[] = [];
    const sshMs = await median(7, async () => (await viaJump('true')).ms);
    const tpMs = await median(7, async () => (await tp(['ssh', 'node1', 'true'], home)).ms);
    rows.push({
      figure: '`tp ssh node true` (process start to exit)',
      tp: tpMs,
      reference: sshMs,
      referenceName: 'ssh -J, OpenSSH both hops',
      unit: 'ms',
      higherIsBetter: false,
    });

    const config = join(dir, 'tp_ssh_config');
    writeFileSync(config, (await tp(['config'], home)).out);
    const tpConfigMs = await median(
      5,
      async () => (await run(['ssh', '-F', config, '-o', 'BatchMode=yes', 'node1.bench.test', 'true'], home)).ms,
    );
    rows.push({
      figure: 'OpenSSH ssh via `tp config` (ProxyCommand tp)',
      tp: tpConfigMs,
      reference: sshMs,
      referenceName: 'ssh -J, OpenSSH both hops',
      unit: 'ms',
      higherIsBetter: false,
    });

    const mib = bytes / (1 << 20);
    const refUp = await viaJump('cat > /dev/null', 'zero');
    const tpUp = await tp(['ssh', 'node1', 'cat > /dev/null'], home, 'zero');
    if (tpUp.code !== 0 || refUp.code !== 0) throw new Error(`upload failed: tp ${tpUp.err} / ssh ${refUp.err}`);
    rows.push({
      figure: `${mib} MiB upload, tp ssh through the proxy`,
      tp: mib / (tpUp.ms / 1000),
      reference: mib / (refUp.ms / 1000),
      referenceName: 'ssh -J',
      unit: 'MiB/s',
      higherIsBetter: true,
    });
    const cfgUp = await run(
      ['ssh', '-F', config, '-o', 'BatchMode=yes', 'node1.bench.test', 'cat > /dev/null'],
      home,
      'zero',
    );
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
    cluster.kill('SIGTERM');
    await cluster.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For quick runs: BENCH_BYTES=268435456 just bench. */
export function setBenchBytes(n: number): void {
  bytes = n;
}
