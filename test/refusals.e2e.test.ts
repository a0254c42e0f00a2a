import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AckSchema } from '../core/api/schemas.ts';
import { profileKeysDir } from '../core/client/profile.ts';
import { eventually } from './helpers/audit.ts';
import { startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';
import { auditEvents, type FixtureUser, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
let alice: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([
    { name: 'dev1', labels: { env: 'dev' } },
    { name: 'prod1', labels: { env: 'prod' } },
  ]);
  await f.role(
    'metadata: {name: dev-only}\nspec:\n  allow: {logins: ["{{internal.logins}}"], node_labels: {env: dev}}\n',
  );
  await f.role(`metadata: {name: no-${me}}\nspec:\n  deny: {logins: [${me}]}\n`);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

/** Runs `tp ssh` expecting a refusal; checks the message, the audit event from the proxy, and that no node saw it. */
async function refused(user: FixtureUser, target: string, message: string): Promise<void> {
  const before = (await auditEvents(f, 'auth.attempt')).length;
  const sessionsBefore = (await auditEvents(f, 'session.start')).length;
  const r = await user.tp(['ssh', target, 'echo should-not-run']);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(message);
  expect(r.code).toBe(255);
  await waitFor('the refusal audit event', async () => (await auditEvents(f, 'auth.attempt')).length > before);
  const event = (await auditEvents(f, 'auth.attempt')).at(-1)!;
  expect(event.error).toContain(message);
  expect(String(event.reported_by)).toStartWith('proxy:');
  expect((await auditEvents(f, 'session.start')).length).toBe(sessionsBefore);
  for (const a of f.cluster.agents.values()) expect(a.plugins.openStreams).toBe(0);
}

describe('refusals: clear message, audited, decided by the proxy before a byte reaches the node', () => {
  test('a login the roles do not allow', async () => {
    await refused(alice, 'postgres@dev1', 'login "postgres" is not allowed by roles [ops]');
  });

  test('node labels the roles do not match', async () => {
    const bob = await f.user('bob', ['dev-only']);
    expect((await bob.tp(['ssh', 'dev1', 'echo ok'])).stdout).toBe('ok\n');
    await refused(bob, 'prod1', 'node labels do not match roles [dev-only]');
  });

  test('a deny rule wins over an allow', async () => {
    const carol = await f.user('carol', ['ops', `no-${me}`]);
    await refused(carol, 'dev1', `login "${me}" is denied by role "no-${me}"`);
  });

  test('a locked user, then an unlocked one', async () => {
    const dave = await f.user('dave', ['ops']);
    const lock = JSON.parse(
      (await f.admin(['locks', 'add', '--user', 'dave', '--message', 'suspicious activity', '--format', 'json']))
        .stdout,
    );
    await refused(dave, 'dev1', 'user "dave" is locked: suspicious activity');
    await f.admin(['locks', 'rm', lock.id]);
    // Removal reaches the proxy at once and the node within its state refresh interval.
    await waitFor(
      'the unlock to reach the node',
      async () => (await dave.tp(['ssh', 'dev1', 'echo back'])).stdout === 'back\n',
    );
  });

  test("a new lock ends a live session within the node's refresh interval", async () => {
    const frank = await f.user('frank', ['ops']);
    const child = Bun.spawn(
      [
        process.execPath,
        join(import.meta.dir, '..', 'cmd', 'tp.ts'),
        'ssh',
        'dev1',
        'echo started; sleep 30; echo never',
      ],
      {
        env: { ...process.env, ...frank.env },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    );
    const reader = child.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('started\n');
    const lockedAt = Date.now();
    await f.admin(['locks', 'add', '--user', 'frank', '--message', 'offboarded']);
    expect(await child.exited).toBe(255);
    expect(Date.now() - lockedAt).toBeLessThan(5_000);
    await eventually(
      f.cluster.auth.admin,
      'auth.attempt',
      (e) => e.user === 'frank' && e.error === 'session ended: a lock now applies',
    );
  });

  test('a locked node', async () => {
    const lock = JSON.parse(
      (await f.admin(['locks', 'add', '--node', 'prod1', '--message', 'maintenance', '--format', 'json'])).stdout,
    );
    await refused(alice, 'prod1', 'node "prod1" is locked: maintenance');
    expect((await alice.tp(['ssh', 'dev1', 'echo other-node-fine'])).stdout).toBe('other-node-fine\n');
    await f.admin(['locks', 'rm', lock.id]);
  });

  test('an unknown node', async () => {
    await refused(alice, 'ghost', 'node "ghost" not found');
  });

  test('a certificate from a foreign cluster is refused by the proxy', async () => {
    await using other: TestCluster = await startTestCluster({ agents: [] });
    await other.auth.admin.post(AckSchema, '/v1/roles', {
      role: { metadata: { name: 'ops' }, spec: { allow: { logins: [me], node_labels: { '*': '*' } } } },
    });
    await other.auth.client.createUser({
      name: 'alice',
      roles: ['ops'],
      logins: [me],
      password: 'correct horse battery staple',
    });
    const { tp } = await import('./helpers/cli.ts');
    const home = join(f.dir, 'foreign-home');
    const login = await tp(
      ['login', '--proxy', other.proxy.addr, '--user', 'alice', '--password-stdin', '--insecure'],
      {
        env: { TP_HOME: home },
        stdin: 'correct horse battery staple',
      },
    );
    expect(login.code).toBe(0);
    // Same user name, keys signed by the other cluster's CA, pointed at this cluster's proxy (trusting its TLS CA).
    const profile = JSON.parse(readFileSync(join(home, 'profile.json'), 'utf8'));
    const from = profileKeysDir(other.proxy.addr, home);
    const to = profileKeysDir(f.cluster.proxy.addr, home);
    cpSync(from, to, { recursive: true });
    writeFileSync(join(to, 'cas.pem'), readFileSync(join(profileKeysDir(f.cluster.proxy.addr, alice.home), 'cas.pem')));
    writeFileSync(join(home, 'profile.json'), JSON.stringify({ ...profile, proxy: f.cluster.proxy.addr }));
    const mallory: FixtureUser = {
      name: 'alice',
      home,
      env: { TP_HOME: home },
      tp: (args) => tp(args, { env: { TP_HOME: home } }),
    };
    await refused(mallory, 'dev1', 'your certificate is not accepted by this cluster');
  });

  test('an expired certificate: tp ssh says to log in again; a live session ends when its certificate expires', async () => {
    const erin = await f.user('erin', ['ops'], { ttl: '4s' });
    const started = Date.now();
    const long = await erin.tp(['ssh', 'dev1', 'echo started; sleep 30; echo never']);
    expect(long.stdout).toBe('started\n');
    expect(long.code).toBe(255);
    expect(Date.now() - started).toBeLessThan(15_000);
    const r = await erin.tp(['ssh', 'dev1', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/your certificate expired at .*: run `tp login`/);
  });
});
