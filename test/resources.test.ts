import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { ListedResourceSchema } from '../core/api/resourceSchemas.ts';
import { AckSchema } from '../core/api/schemas.ts';
import { AccessDenied, Locked, NotFound, Unavailable } from '../core/errors.ts';
import type { ResourceRecord } from '../core/plugin/types.ts';
import { parseSnapshot } from '../core/state/items.ts';
import { waitFor } from './helpers/cluster.ts';
import { dbSpec, userApi, withFixtureDb } from './helpers/resourceFixture.ts';
import { type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The generic resource path end to end: an agent heartbeats its plugins' resources through the proxy, auth keeps
// and streams them, the proxy lists them by the caller's roles, resolves names to a reachable agent, and the gate
// judges them by their kind's policy and resource locks.

let f: SshFixture;
let alice: FixtureUser;
let served = [dbSpec('pg1', { env: 'dev' }), dbSpec('pg-prod', { env: 'prod' })];

const names = (rs: { name: string }[]) => rs.map((r) => r.name).sort();
const viewNames = async () => names(await f.cluster.proxy.view.resources('db'));
const aliceWho = { name: 'alice', roles: ['dev-db'], traits: { db_users: ['alice', 'reader'] } };
const ask = (principal?: string) =>
  f.cluster.proxy.gate.authorize<ResourceRecord>({
    kind: 'db',
    who: aliceWho,
    target: 'pg1',
    principal,
    via: 'test',
    remote: '127.0.0.1',
  });

beforeAll(async () => {
  f = await startSshFixture(
    [{ name: 'dbhost' }],
    undefined,
    undefined,
    withFixtureDb(() => served),
  );
  await f.role(
    'metadata: {name: dev-db}\nspec:\n  allow:\n    db_labels: {env: dev}\n    db_users: ["{{internal.db_users}}"]\n' +
      '    db_names: ["{{internal.db_names}}"]\n',
  );
  alice = await f.user('alice', ['dev-db']);
  const up = await f.admin(['users', 'update', 'alice', '--db-users', 'alice,reader', '--db-names', 'app']);
  if (up.code !== 0) throw new Error(`users update: ${up.stderr}`);
  // The new traits reach alice's certificate at her next login.
  const login = await alice.tp(
    ['login', '--proxy', f.cluster.proxy.addr, '--user', 'alice', '--password-stdin', '--insecure'],
    { stdin: PASSWORD },
  );
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
  // The agent's first beat went out before its tunnel was up; wait for a beat to land.
  await waitFor('the first resource heartbeat', async () => (await viewNames()).length === 2);
});
afterAll(async () => f?.close());

describe('resource records', () => {
  test("an agent's plugins' resources reach the proxy with their kind, plugin and host", async () => {
    expect(await viewNames()).toEqual(['pg-prod', 'pg1']);
    const rec = (await f.cluster.proxy.view.resources('db')).find((r) => r.name === 'pg1')!;
    const hostId = f.cluster.agents.get('dbhost')!.hostId;
    expect(rec).toMatchObject({ kind: 'db', plugin: 'db-fixture', hostId, labels: { env: 'dev' } });
    expect(rec.spec).toEqual({ protocol: 'postgres', uri: '127.0.0.1:5432' });
    expect(Date.parse(rec.lastSeen)).toBeGreaterThan(Date.now() - 60_000);
    // Auth streams them as state kind `resource`, named <kind>/<name>/<hostId>.
    const snap = await f.cluster.auth.admin.get(parseSnapshot, '/v1/watch/snapshot');
    expect(snap.items.filter((i) => i.kind === 'resource').map((i) => i.name)).toContain(`db/pg1/${hostId}`);
  });

  test('users list only what their roles show, with the db users their roles grant there', async () => {
    const listed = await userApi(f.cluster, alice.home).get(v.array(ListedResourceSchema), '/webapi/resources?kind=db');
    expect(listed).toEqual([
      {
        kind: 'db',
        name: 'pg1',
        labels: { env: 'dev' },
        plugin: 'db-fixture',
        spec: { protocol: 'postgres', uri: '127.0.0.1:5432' },
        online: true,
        principals: ['alice', 'reader'],
      },
    ]);
    const refusal = (kind: string) =>
      userApi(f.cluster, alice.home)
        .get(AckSchema, `/webapi/resources${kind}`)
        .then(
          () => undefined,
          (e: Error) => e.message,
        );
    expect(await refusal('?kind=printer')).toMatch(
      /^no plugin serves resources of kind "printer" here \(kinds: [a-z, ]*db[a-z, ]*\)$/,
    );
    expect(await refusal('')).toBe('say which kind of resources to list: ?kind=db');
  });

  test('tp users update set the traits, and tp users ls shows them', async () => {
    const r = await f.admin(['users', 'ls', '--format', 'json']);
    expect(r.code).toBe(0);
    const u = (JSON.parse(r.stdout) as { name: string; traits: Record<string, string[]> }[]).find(
      (x) => x.name === 'alice',
    )!;
    expect(u.traits).toMatchObject({ db_users: ['alice', 'reader'], db_names: ['app'] });
    const add = await f.admin(['users', 'add', 'bob', '--roles', 'dev-db', '--db-users', 'bob', '--format', 'json']);
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout).user.traits).toMatchObject({ db_users: ['bob'] });
    const none = await f.admin(['users', 'update', 'bob']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('nothing to change');
  });

  test('the gate resolves a name to its agent and checks labels, the db user and resource locks', async () => {
    expect((await ask('alice')).hostId).toBe(f.cluster.agents.get('dbhost')!.hostId);
    expect((await ask()).name).toBe('pg1');
    await expect(ask('postgres')).rejects.toThrow(AccessDenied);
    await expect(ask('postgres')).rejects.toThrow('allowed users: alice, reader');
    const lock = await f.admin(['locks', 'add', '--resource', 'db/pg1', '--message', 'migrating', '--format', 'json']);
    expect(lock.code).toBe(0);
    const id = (JSON.parse(lock.stdout) as { id: string; target: { resource: string } }).id;
    expect(JSON.parse(lock.stdout).target.resource).toBe('db/pg1');
    await waitFor('the lock at the proxy', async () => (await f.cluster.proxy.view.locks()).some((l) => l.id === id));
    await expect(ask('alice')).rejects.toThrow(Locked);
    await expect(ask('alice')).rejects.toThrow('db "pg1" is locked: migrating');
    const ls = await f.admin(['locks', 'ls']);
    expect(ls.stdout).toContain('resource:db/pg1');
    expect((await f.admin(['locks', 'rm', id])).code).toBe(0);
    await waitFor('the lock gone', async () => !(await f.cluster.proxy.view.locks()).some((l) => l.id === id));
    expect((await ask('alice')).name).toBe('pg1');
    const bad = await f.admin(['locks', 'add', '--resource', 'pg1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('<kind>/<name>');
  });

  test('a resource no longer reported leaves at the next beat', async () => {
    served = [dbSpec('pg1', { env: 'dev' })];
    await waitFor('pg-prod to leave', async () => (await viewNames()).join() === 'pg1', 5_000);
  });

  test('two agents serving one name: listed once; the gate moves to the live one; a dead one expires', async () => {
    // A long beat period: dbhost2's records outlive this file unless something removes them.
    const second = await f.cluster.addAgent({ name: 'dbhost2', options: { heartbeatMs: 20_000 } });
    await waitFor('both agents to serve pg1', async () => (await f.cluster.proxy.view.resources('db')).length === 2);
    const listed = await userApi(f.cluster, alice.home).get(v.array(ListedResourceSchema), '/webapi/resources?kind=db');
    expect(listed.map((r) => r.name)).toEqual(['pg1']);
    const first = f.cluster.agents.get('dbhost')!;
    await first.close();
    await waitFor('the tunnel to close', () => !f.cluster.proxy.tunnels.has(first.hostId));
    expect((await ask('alice')).hostId).toBe(second.hostId);
    await waitFor(
      "dbhost's records to expire",
      async () => (await f.cluster.proxy.view.resources('db')).every((r) => r.hostId === second.hostId),
      15_000,
    );
  });

  test('the last agent gone: its resources are offline at once, and tp nodes rm removes them with the node', async () => {
    const second = f.cluster.agents.get('dbhost2')!;
    await second.close();
    await waitFor('the tunnel to close', () => !f.cluster.proxy.tunnels.has(second.hostId));
    await expect(f.cluster.proxy.view.resolveResource('db', 'pg1')).rejects.toThrow(Unavailable);
    await expect(ask('alice')).rejects.toThrow('db "pg1" is offline: no agent serving it is connected');
    expect(await viewNames()).toEqual(['pg1']);
    const rm = await f.admin(['nodes', 'rm', second.hostId]);
    expect(rm.code).toBe(0);
    // Its heartbeat would have kept them a minute: they go with the node.
    await waitFor('the records to go', async () => (await viewNames()).length === 0, 5_000);
    await expect(ask('alice')).rejects.toThrow(NotFound);
  });
});
