import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import { profileKeysDir } from '../core/client/profile.ts';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { SSHD, type Sshd, ssh, startSshd } from './helpers/sshd.ts';
import { auditEvents, type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
const cluster = 'test.cluster';
const NODES = ['tunnel1', 'direct1', 'aio'];
let f: SshFixture;
let alice: FixtureUser;
let bob: FixtureUser;
let sshd: Sshd | undefined;

/** The rotation status as `tp rotate status --format json` prints it. */
async function status(): Promise<Output<'rotate status'>> {
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
      return s.state.phase === phase && s.servers.every((x) => x.caught_up);
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
  // Through the proxy's SSH jump port: its host certificate and user CAs follow the rotation too.
  const j = await ssh(['-F', config, '-J', `tp-proxy.${cluster}`, `direct1.${cluster}`, `echo jump-${tag}`]);
  expect({ tag, out: j.stdout, err: j.code === 0 ? '' : j.stderr }).toEqual({ tag, out: `jump-${tag}\n`, err: '' });
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

/** Logs a user in again (new certificates from the signing CA). */
async function relogin(user: FixtureUser): Promise<void> {
  const r = await user.tp(
    ['login', '--proxy', f.cluster.proxy.addr, '--user', user.name, '--password-stdin', '--insecure'],
    {
      stdin: PASSWORD,
    },
  );
  if (r.code !== 0) throw new Error(`login: ${r.stderr}`);
}

/** An agentless node: stock sshd with a host certificate from `tp ca sign --host` and the user CA exported now. */
async function startAgentless(): Promise<Sshd> {
  const dir = join(f.dir, `agentless-${Date.now()}`);
  const caFile = join(f.dir, `user_ca_${Date.now()}.pub`);
  writeFileSync(caFile, await admin(['ca', 'export', '--type', 'user']));
  await admin(['ca', 'sign', '--host', 'agentless1', '--principals', `agentless1.${cluster}`, '--out', dir]);
  const started = await startSshd([
    `TrustedUserCAKeys ${caFile}`,
    `HostKey ${join(dir, 'key')}`,
    `HostCertificate ${join(dir, 'key-cert.pub')}`,
  ]);
  const nodes = JSON.parse(await admin(['nodes', 'ls', '--format', 'json'])) as { name: string }[];
  if (nodes.some((n) => n.name === 'agentless1')) await admin(['nodes', 'rm', 'agentless1']);
  await admin(['nodes', 'add', '--name', 'agentless1', '--addr', `127.0.0.1:${started.port}`, '--agentless']);
  return started;
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
    cpSync(join(alice.home, 'keys'), join(oldUser, 'keys'), { recursive: true });
    const before = await status();
    expect(before.state.phase).toBe('standby');

    if (SSHD) {
      sshd = await startAgentless();
      const r = await alice.tp(['ssh', 'agentless1', 'echo agentless-before']);
      expect(r.stdout).toBe('agentless-before\n');
    }

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
    await relogin(alice);
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
    const config = join(f.dir, 'ssh_config_final');
    writeFileSync(config, (await alice.tp(['config'])).stdout);
    const oldDir = profileKeysDir(f.cluster.proxy.addr, oldUser);
    const oldCertConfig = join(f.dir, 'ssh_config_old_cert');
    writeFileSync(
      oldCertConfig,
      readFileSync(config, 'utf8')
        .replaceAll(`"${profileKeysDir(f.cluster.proxy.addr, alice.home)}/key"`, `"${oldDir}/key"`)
        .replaceAll(`"${profileKeysDir(f.cluster.proxy.addr, alice.home)}/key-cert.pub"`, `"${oldDir}/key-cert.pub"`),
    );
    expect(readFileSync(oldCertConfig, 'utf8')).toContain(oldDir);
    const oldCert = await ssh(['-F', oldCertConfig, `tunnel1.${cluster}`, 'echo should-not-run']);
    expect(oldCert.code).toBe(255);
    expect(oldCert.stdout).toBe('');
    expect(oldCert.stderr).toContain('Permission denied');
    const nowCert = await ssh(['-F', config, `tunnel1.${cluster}`, 'echo new-cert-ok']);
    expect(nowCert.stdout).toBe('new-cert-ok\n');

    if (sshd) {
      // The agentless node still presents its pre-rotation host certificate: refused by tp ssh and by OpenSSH.
      const viaTp = await alice.tp(['ssh', 'agentless1', 'echo should-not-run']);
      expect(viaTp.code).toBe(255);
      expect(viaTp.stdout).toBe('');
      expect(viaTp.stderr).toContain('untrusted CA');
      const viaOpenSsh = await ssh(['-F', config, `agentless1.${cluster}`, 'echo should-not-run']);
      expect(viaOpenSsh.code).toBe(255);
      expect(viaOpenSsh.stderr).toContain('Host key verification failed');
      // The documented fix for agentless nodes: sign their host key again and re-export the user CA.
      await sshd.close();
      sshd = await startAgentless();
      const fixed = await alice.tp(['ssh', 'agentless1', 'echo agentless-back']);
      expect({ out: fixed.stdout, err: fixed.stderr }).toEqual({ out: 'agentless-back\n', err: '' });
    }

    const events = await auditEvents(f, 'rotation.phase');
    expect(events.map((e) => e.phase)).toEqual(['update_clients', 'update_servers']);
    expect((await auditEvents(f, 'rotation.complete')).length).toBe(1);
  }, 120_000);
});

describe('CA rotation: rollback', () => {
  test('phases are checked: no skipping, no second rotation, nothing to roll back in standby', async () => {
    const none = await f.admin(['rotate', 'rollback']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no rotation is running');
    await admin(['rotate', 'start', '--type', 'host', '--manual']);
    const skip = await f.admin(['rotate', 'phase', 'update_servers']);
    expect(skip.code).not.toBe(0);
    expect(skip.stderr).toContain('the next phase is update_clients');
    const second = await f.admin(['rotate', 'start', '--type', 'user']);
    expect(second.stderr).toContain('already in phase init');
    const bad = await f.admin(['rotate', 'start', '--type', 'ssh']);
    expect(bad.stderr).toContain('unknown CA type "ssh"');
    await admin(['rotate', 'rollback']);
    await allCaughtUp('rollback');
    await admin(['rotate', 'phase', 'standby']);
    await allCaughtUp('standby');
  }, 60_000);

  test('rollback from update_servers restores the old CAs and everything keeps working', async () => {
    const before = await status();
    await admin(['rotate', 'start', '--type', 'all', '--manual']);
    await allCaughtUp('init');
    await everyNodeWorks('rb-init');
    await admin(['rotate', 'phase', 'update_clients']);
    await allCaughtUp('update_clients');
    await everyNodeWorks('rb-update-clients');
    await admin(['rotate', 'phase', 'update_servers']);
    await allCaughtUp('update_servers');
    await everyNodeWorks('pre-rollback');
    const rb = await f.admin(['rotate', 'rollback']);
    expect(rb.stdout).toContain('rolling back');
    await allCaughtUp('rollback');
    await everyNodeWorks('rollback');
    await admin(['rotate', 'phase', 'standby']);
    await allCaughtUp('standby');
    const after = await status();
    expect(after.cas.map((c) => [c.type, c.active, c.trusted])).toEqual(
      before.cas.map((c) => [c.type, c.active, [c.active]]),
    );
    expect(after.state.last?.result).toBe('rolled_back');
    await everyNodeWorks('rolled-back');
    expect((await auditEvents(f, 'rotation.rollback')).length).toBeGreaterThanOrEqual(2);
  }, 90_000);
});

describe('CA rotation: automatic mode and agents that are away', () => {
  test('automatic mode waits for a downed agent, stalls with a clear status, and finishes once it is back', async () => {
    const started = await f.admin(['rotate', 'start', '--type', 'all', '--grace', '0s', '--timeout', '3s']);
    expect(started.stdout).toContain('(auto)');
    await f.cluster.agents.get('tunnel1')!.close();
    await waitFor('a stall', async () => (await status()).state.stalled !== null, 30_000);
    const stalled = await status();
    expect(stalled.state.phase).not.toBe('standby');
    expect(stalled.state.stalled!.waiting.join(' ')).toContain('node tunnel1');
    const text = await admin(['rotate', 'status']);
    expect(text).toContain('STALLED');
    expect(text).toContain('tp rotate rollback');
    // It does not advance while the agent is away.
    await Bun.sleep(1500);
    expect((await status()).state.phase).toBe(stalled.state.phase);
    expect((await auditEvents(f, 'rotation.stalled')).length).toBe(1);

    // The agent comes back on its saved identity, catches up, and the rotation completes by itself.
    await f.cluster.restartAgent('tunnel1', { token: false });
    await waitFor('the rotation to complete', async () => (await status()).state.phase === 'standby', 60_000);
    expect((await status()).state.last?.result).toBe('completed');
    // Users holding certificates from the rotated-out CA are asked to log in again; after that, all works.
    const stale = await alice.tp(['ssh', 'tunnel1', 'true']);
    expect(stale.code).toBe(255);
    expect(stale.stderr).toContain('run `tp login`');
    await relogin(alice);
    await everyNodeWorks('after-auto');
  }, 120_000);

  test('an agent down for a whole rotation is told to re-join, and re-joins with a new token', async () => {
    // direct1 goes down; from here on it runs as a `tp agent start` process of its own, as on a device.
    await f.cluster.agents.get('direct1')!.close();
    const dataDir = join(f.dir, 'direct1-device');
    mkdirSync(join(dataDir, 'agent'), { recursive: true });
    cpSync(join(f.cluster.agentDirs.get('direct1')!, 'identity.json'), join(dataDir, 'agent', 'identity.json'));
    await admin(['rotate', 'start', '--type', 'all', '--manual']);
    for (const phase of ['update_clients', 'update_servers', 'standby']) {
      await waitFor('the others to catch up', async () =>
        (await status()).servers.filter((x) => x.name !== 'direct1').every((x) => x.caught_up),
      );
      // direct1 is away for the whole rotation, on purpose: advance past it.
      await admin(['rotate', 'phase', phase, '--force']);
    }
    const agentArgs = ['agent', 'start', '--proxy', f.cluster.proxy.addr, '--name', 'direct1'];
    const device = [...agentArgs, '--direct', '127.0.0.1:0', '--data-dir', dataDir];
    const refused = await tp(device);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('no longer trusted by the cluster');
    expect(refused.stderr).toContain('tp tokens add --type node');
    // Its old record still holds the name "direct1" (auth keeps one name per live node): the operator frees it, as
    // the join's refusal says, then gives the device a new token.
    const oldHostId = JSON.parse(readFileSync(join(dataDir, 'agent', 'identity.json'), 'utf8')).hostId as string;
    // With the test's 0.5 s heartbeat the record may already have expired (the rotation outlived it; it takes longer
    // since it also rotates the database CAs): then the name is free already.
    const rm = await f.admin(['nodes', 'rm', oldHostId]);
    if (rm.code !== 0) expect(rm.stderr).toContain('not found');
    const token = JSON.parse(await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).token as string;
    const child = Bun.spawn([process.execPath, entry, ...device, '--token', token], {
      env: { ...process.env, TP_LOG_FORMAT: 'json' },
      stdout: 'ignore',
      stderr: 'pipe',
    });
    try {
      await relogin(alice);
      let last = '';
      await waitFor(
        'direct1 to re-join',
        async () => {
          const r = await alice.tp(['ssh', 'direct1', 'true']);
          last = r.stderr;
          return r.code === 0;
        },
        30_000,
      ).catch(async (err) => {
        child.kill();
        const agentLog = await new Response(child.stderr).text();
        throw new Error(`${(err as Error).message}; last tp ssh said: ${last}\nthe agent said: ${agentLog}`);
      });
      await everyNodeWorks('rejoined');
      expect(readdirSync(join(dataDir, 'agent')).some((n) => n.startsWith('identity.json.rejected-'))).toBe(true);
    } finally {
      child.kill();
      await child.exited;
    }
  }, 120_000);
});
