import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../../core/client/localUser.ts';
import { run } from '../helpers/cli.ts';
import { freePort } from '../helpers/sshd.ts';

export const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');
/**
 * The login sessions run as, for tp and the OpenSSH reference alike. As root, a dedicated account with /bin/sh:
 * root's own shell startup (here ~/.bashrc runs pyenv-rehash, which spins on a lock under concurrency) would be
 * measured instead of tp.
 */
export const me = (() => {
  if (process.getuid?.() !== 0) return localUsername();
  if (Bun.spawnSync(['id', 'tpbench']).exitCode !== 0)
    Bun.spawnSync(['useradd', '-M', '-d', '/tmp', '-s', '/bin/sh', 'tpbench']);
  // useradd leaves the password field '!' (locked), which sshd refuses; '*' means "no password" but not locked.
  Bun.spawnSync(['usermod', '-p', '*', 'tpbench']);
  return Bun.spawnSync(['id', 'tpbench']).exitCode === 0 ? 'tpbench' : localUsername();
})();
export const PASSWORD = 'bench password 123';

/** Runs a command and throws if it fails: a benchmark must never time a failure. */
export async function runOk(cmd: string[], env: Record<string, string> = {}): Promise<number> {
  const r = await run(cmd, { env });
  if (r.code !== 0)
    throw new Error(`${cmd.slice(0, 4).join(' ')} ... exited ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`);
  return r.ms;
}

/** A process's resident memory split (MiB): its own (anonymous) pages and its mapped files' (the runtime's code). */
export function rssSplitMiB(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Resident memory of a process in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** An all-in-one `tp start` in its own process (so its memory is its own), with a logged-in bench user. */
export interface BenchCluster {
  dir: string;
  dataDir: string;
  proxy: string;
  pid: () => number;
  home: Record<string, string>;
  tp(args: string[], env?: Record<string, string>, stdin?: string): ReturnType<typeof run>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the cluster on fixed free ports (so a restart keeps its addresses) and logs the bench user in. */
export async function startBenchCluster(): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-'));
  const dataDir = join(dir, 'data');
  const [authPort, proxyPort, jumpPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'tp.yaml'),
    `cluster_name: bench.test\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\nproxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:${jumpPort}}\nssh: {name: node1}\n`,
  );
  let child: ReturnType<typeof Bun.spawn>;
  const start = async () => {
    // Many tunnels need many descriptors: raise the soft limit for the cluster process.
    child = Bun.spawn(
      [
        'sh',
        '-c',
        `ulimit -n 65536 2>/dev/null; exec "${process.execPath}" ${process.env.BENCH_PROFILE_DIR ? `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` : ''} "${entry}" start --config "${join(dir, 'tp.yaml')}" --data-dir "${dataDir}"`,
      ],
      {
        stdout: 'pipe',
        stderr: 'ignore',
        env: { ...process.env, TP_LOG_FORMAT: 'json' },
      },
    );
    let banner = '';
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    while (!banner.includes('log in and connect')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`tp start exited: ${banner}`);
      banner += new TextDecoder().decode(value);
    }
    reader.releaseLock();
  };
  await start();
  const proxy = `127.0.0.1:${proxyPort}`;
  const home = { TP_HOME: join(dir, 'home') };
  const tp = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
    run([process.execPath, entry, ...args], { env, stdin });
  await tp(
    ['users', 'add', 'bench', '--roles', 'admin', '--logins', me, '--password-stdin', '--data-dir', dataDir],
    {},
    PASSWORD,
  );
  const login = await tp(
    ['login', '--proxy', proxy, '--user', 'bench', '--password-stdin', '--insecure'],
    home,
    PASSWORD,
  );
  if (login.code !== 0) throw new Error(`bench login failed: ${login.stderr}`);
  const stop = async () => {
    child.kill('SIGTERM');
    await child.exited;
  };
  return {
    dir,
    dataDir,
    proxy,
    pid: () => child.pid,
    home,
    tp,
    restart: async () => {
      await stop();
      await start();
    },
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a gauge from a proxy's metrics listener (`proxy.metrics_listen`, `--metrics-listen`). */
export async function proxyGauge(metricsAddr: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${metricsAddr}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}
