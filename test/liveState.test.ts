import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { AuthClient } from '../core/api/authClient.ts';
import { ApiClient } from '../core/api/client.ts';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import { SqliteBackend } from '../core/backend/sqlite.ts';
import { type ProxyServer, startProxy } from '../core/proxy/server.ts';
import { waitFor } from './helpers/cluster.ts';
import { type FixtureUser, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
/** The auth API as the cluster's admin, typed (the admin client is replaced when auth restarts). */
const admin = () => new AuthClient(f.cluster.auth.admin);
let alice: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }], { metricsListen: '127.0.0.1:0' });
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

/** Auth's request counters by route (its Prometheus text on the metrics listener). */
async function authRequests(): Promise<Map<string, number>> {
  const res = await fetch(`http://${f.cluster.auth.server.metricsAddr}/metrics`);
  const out = new Map<string, number>();
  for (const m of (await res.text()).matchAll(/^tp_auth_requests_total\{route="([^"]+)",status="200"\} (\d+)$/gm)) {
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Full lists auth served: state snapshots plus the plain list endpoints a polling cache would call. */
const FULL_LISTS = ['GET:/v1/watch/snapshot', 'GET:/v1/nodes', 'GET:/v1/roles', 'GET:/v1/locks'];

async function startSecondProxy(): Promise<ProxyServer> {
  const svc = f.cluster.auth.server.service;
  const id = await localHostIdentity(svc, 'proxy', 'proxy-2', ['127.0.0.1']);
  const auth = new ApiClient([f.cluster.auth.server.addr], { ca: id.tlsCa.join(''), cert: id.tlsCert, key: id.tlsKey });
  return startProxy({
    listen: '127.0.0.1:0',
    identity: id,
    auth,
    version: 'test',
    name: 'proxy-2',
    plugins: f.cluster.plugins,
  });
}

describe('the proxy follows cluster state: one snapshot, then changes', () => {
  test('a proxy started against 10,000 nodes takes one snapshot and then only deltas', async () => {
    const backend = f.cluster.auth.server.backend;
    for (let i = 0; i < 10_000; i++) {
      const hostId = `bulk-${i}`;
      await backend.put({
        key: `/nodes/${hostId}`,
        value: JSON.stringify({ hostId, name: `bulk-${i}`, labels: { fleet: 'bulk' }, tunnel: false, lastSeen: '' }),
      });
    }
    const before = await authRequests();
    await using proxy2 = await startSecondProxy();
    await waitFor('the 10,001 nodes at the new proxy', async () => (await proxy2.view.nodes()).length === 10_001);
    // Changes of every kind arrive as deltas.
    await admin().upsertNode({ hostId: 'late-node', name: 'late-node', labels: {}, tunnel: false });
    await waitFor('the new node', async () => (await proxy2.view.nodes()).some((n) => n.hostId === 'late-node'));
    await admin().removeNode('bulk-7');
    await waitFor('the removed node', async () => !(await proxy2.view.nodes()).some((n) => n.hostId === 'bulk-7'));
    const lock = await admin().createLock({ target: { user: 'nobody' } });
    await waitFor('the lock', async () => !!(await proxy2.view.lockFor({ user: 'nobody' })));
    await admin().removeLock(lock.id);
    await waitFor('the lock gone', async () => !(await proxy2.view.lockFor({ user: 'nobody' })));
    const after = await authRequests();
    const delta = (route: string) => (after.get(route) ?? 0) - (before.get(route) ?? 0);
    expect(FULL_LISTS.map((r) => [r, delta(r)])).toEqual([
      ['GET:/v1/watch/snapshot', 1],
      ['GET:/v1/nodes', 0],
      ['GET:/v1/roles', 0],
      ['GET:/v1/locks', 0],
    ]);
    expect(delta('GET:/v1/watch/changes')).toBeGreaterThan(0);
  }, 120_000);

  test('an auth restart: the proxy serves from its copy meanwhile, then resumes from its revision', async () => {
    await f.cluster.auth.stop();
    const down = await alice.tp(['ssh', 'node1', 'echo while-auth-is-down']);
    expect(down.stderr).toBe('');
    expect(down.stdout).toBe('while-auth-is-down\n');
    await f.cluster.auth.restart();
    const snapshots = (await authRequests()).get('GET:/v1/watch/snapshot') ?? 0;
    await admin().createLock({ target: { user: 'alice' }, message: 'after the restart' });
    await waitFor('the lock at the proxy', async () => !!(await f.cluster.proxy.view.lockFor({ user: 'alice' })), 5000);
    const r = await alice.tp(['ssh', 'node1', 'true']);
    expect(r.stderr).toContain('after the restart');
    // Nothing changed while auth was down, so the proxy and its agent resumed without a new snapshot.
    expect((await authRequests()).get('GET:/v1/watch/snapshot') ?? 0).toBe(snapshots);
    for (const l of await admin().listLocks()) await admin().removeLock(l.id);
    await waitFor('alice unlocked', async () => !(await f.cluster.proxy.view.lockFor({ user: 'alice' })), 5000);
  });

  test('a change written to storage while auth was down reaches the proxy once auth is back', async () => {
    await f.cluster.auth.stop();
    // Another writer changes the storage while this auth server is away; the restarted one streams it from the log.
    const other = new SqliteBackend({ path: join(f.cluster.auth.dataDir, 'backend.sqlite') });
    await other.put({
      key: '/locks/offline',
      value: JSON.stringify({ id: 'offline', target: { user: 'alice' }, message: 'locked while auth was down' }),
    });
    await other.close();
    await f.cluster.auth.restart();
    await waitFor('the re-snapshot', async () => !!(await f.cluster.proxy.view.lockFor({ user: 'alice' })), 5000);
    const r = await alice.tp(['ssh', 'node1', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('locked while auth was down');
    await admin().removeLock('offline');
    await waitFor('alice unlocked', async () => !(await f.cluster.proxy.view.lockFor({ user: 'alice' })), 5000);
    expect((await alice.tp(['ssh', 'node1', 'echo back'])).stdout).toBe('back\n');
  });
});

describe('role names a certificate carries', () => {
  test('a role unknown to the cluster is refused by name, not silently dropped', async () => {
    await f.role(
      'metadata: {name: sso-dev}\nspec:\n  allow: {logins: ["{{internal.logins}}"], node_labels: {"*": "*"}}\n',
    );
    const sam = await f.user('sam', ['ops', 'sso-dev']);
    // The role disappears behind the user's back (a connector mapping to a role that no longer exists).
    await f.cluster.auth.server.backend.delete('/roles/sso-dev');
    await waitFor(
      'the role gone at the proxy',
      async () => !(await f.cluster.proxy.view.roles()).some((r) => r.metadata.name === 'sso-dev'),
    );
    const r = await sam.tp(['ssh', 'node1', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('role "sso-dev" is unknown to this cluster');
    const ls = await sam.tp(['ls']);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toContain('role "sso-dev" is unknown to this cluster');
  });
});
