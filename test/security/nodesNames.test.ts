import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '../../core/agent/agent.ts';
import { ApiClient } from '../../core/api/client.ts';
import { UpsertedNodeSchema } from '../../core/api/hostSchemas.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import { issueTlsCert } from '../../core/crypto/x509.ts';
import { loadHostIdentity, newHostKeys } from '../../core/identity/hostIdentity.ts';
import { waitFor } from '../helpers/cluster.ts';
import { ssh } from '../helpers/sshd.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Finding 11 of issue 15: a node heartbeating `name: "node1"` made `tp ssh node1` fail ("names 2 nodes"), and a label
// value with `\e[2J\e]0;pwned\a` reached terminals raw through `tp ls` and `tp nodes ls`. Issue 24 items 2 and 7: an
// offline record of a name shadowed the live node, and `tp nodes rm node1` removed one of two at random.

const ESCAPES = '\x1b[2J\x1b]0;pwned\x07\x9b31m';
let f: SshFixture;
let alice: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }, { name: 'node2' }, { name: 'shady', labels: { motd: ESCAPES } }]);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

/** An API client to the proxy holding the certificate of the agent named `name`, as that node would. */
function asNode(name: string): ApiClient {
  const id = loadHostIdentity(f.cluster.agentDirs.get(name)!)!;
  return new ApiClient([f.cluster.proxy.addr], { ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey });
}

const heartbeat = (api: ApiClient, name: string) =>
  api.post(AckSchema, '/webapi/agent/heartbeat', { name, labels: {}, ttlMs: 60_000 }).then(
    () => 'accepted',
    (err: Error) => err.message,
  );

const node1Records = async () => (await f.cluster.auth.client.listNodes()).filter((n) => n.name === 'node1');

describe('a node’s name is fixed at join', () => {
  test('node2 heartbeating the name "node1" is refused and audited; tp ssh node1 still reaches node1', async () => {
    const node2 = f.cluster.agents.get('node2')!.hostId;
    expect(await heartbeat(asNode('node2'), 'node1')).toBe(
      `node ${node2} joined as "node2" and may not call itself "node1"`,
    );
    expect(await node1Records()).toHaveLength(1);
    const events = await auditEvents(f, 'node.heartbeat');
    expect(events.some((e) => e.host_id === node2 && e.host === 'node1' && e.success === false)).toBe(true);
    const r = await alice.tp(['ssh', 'node1', 'echo', 'reached']);
    expect({ out: r.stdout, err: r.stderr }).toEqual({ out: 'reached\n', err: '' });
  });

  test('a node certificate from before names were bound may not take a live node’s name either', async () => {
    const keys = newHostKeys();
    const svc = f.cluster.auth.server.service;
    const hostId = randomUUID();
    const cert = await issueTlsCert({
      ca: svc.ca('tls').tls!,
      publicKey: keys.tlsPublicKey,
      subject: { commonName: hostId, organization: ['system:node'], identity: { kind: 'node' } },
      now: Date.now(),
      ttlMs: 3_600_000,
      usage: 'both',
    });
    const legacy = new ApiClient([f.cluster.proxy.addr], { ca: svc.ca('tls').tlsTrusted, cert, key: keys.tlsKey });
    expect(await heartbeat(legacy, 'node1')).toContain('node name "node1" is taken by node');
    expect(await heartbeat(legacy, 'legacy1')).toBe('accepted');
    expect(await node1Records()).toHaveLength(1);
  });
});

describe('an agent started under another name keeps the name it joined with', () => {
  test('node2 restarted with --name renamed still heartbeats as node2, and no heartbeat of it is refused', async () => {
    const old = f.cluster.agents.get('node2')!;
    const hostId = old.hostId;
    await old.close();
    const refusedBefore = (await auditEvents(f, 'node.heartbeat')).filter((e) => e.host_id === hostId).length;
    const since = Date.now();
    const dataDir = f.cluster.agentDirs.get('node2')!;
    await using agent = await startAgent({
      dataDir,
      recordingSpoolDir: join(dataDir, 'spool', 'recordings'),
      proxy: f.cluster.proxy.addr,
      name: 'renamed',
      plugins: f.cluster.plugins,
      heartbeatMs: 500,
      backoff: { baseMs: 50, maxMs: 500 },
    });
    expect(agent.hostId).toBe(hostId);
    const record = async () => (await f.cluster.auth.client.listNodes()).find((n) => n.hostId === hostId);
    await waitFor(
      'a heartbeat of the restarted agent',
      async () => Date.parse((await record())?.lastSeen ?? '') > since,
    );
    expect((await record())!.name).toBe('node2');
    expect((await auditEvents(f, 'node.heartbeat')).filter((e) => e.host_id === hostId)).toHaveLength(refusedBefore);
  });
});

describe('an offline record never shadows a live node of the same name', () => {
  test('tp ssh node1 reaches the live node1; tp nodes rm node1 refuses and lists both; rm by host ID works', async () => {
    const live = f.cluster.agents.get('node1')!.hostId;
    const stale = randomUUID();
    // What a restarted node leaves behind: the record of its old host ID, with no tunnel to any proxy.
    await f.cluster.auth.admin.post(UpsertedNodeSchema, '/v1/nodes', {
      node: { hostId: stale, name: 'node1', labels: {}, tunnel: true },
      ttlMs: 60_000,
    });
    expect(await node1Records()).toHaveLength(2);
    const r = await alice.tp(['ssh', 'node1', 'echo', 'live']);
    expect({ out: r.stdout, err: r.stderr }).toEqual({ out: 'live\n', err: '' });
    // Stock OpenSSH as `tp config` sets it up: through tp's relay, and through the proxy's jump port.
    const config = join(f.dir, 'ssh_config_names');
    writeFileSync(config, (await alice.tp(['config'])).stdout);
    for (const args of [['node1.test.cluster'], ['-J', 'tp-proxy.test.cluster', 'node1.test.cluster']]) {
      const o = await ssh(['-F', config, ...args, 'echo openssh-live']);
      expect({ args, out: o.stdout, err: o.code === 0 ? '' : o.stderr }).toEqual({
        args,
        out: 'openssh-live\n',
        err: '',
      });
    }

    const rm = await f.admin(['nodes', 'rm', 'node1']);
    expect(rm.code).toBe(2);
    expect(rm.stderr).toContain('"node1" names 2 nodes; use a host ID');
    expect(rm.stderr).toContain(live);
    expect(rm.stderr).toContain(stale);
    expect(await node1Records()).toHaveLength(2);

    expect((await f.admin(['nodes', 'rm', stale])).code).toBe(0);
    expect((await node1Records()).map((n) => n.hostId)).toEqual([live]);
  });
});

describe('no terminal control from a peer reaches the terminal', () => {
  /** Asserts no C0 control but newline, no DEL and no C1 in the text. */
  const noControls = (text: string) =>
    expect([...text].filter((c) => (c < ' ' && c !== '\n') || (c >= '\x7f' && c <= '\x9f'))).toEqual([]);

  test('a label with escape sequences shows up in tp ls and tp nodes ls with no ESC or BEL byte', async () => {
    for (const args of [['ls'], ['ls', '--format', 'json'], ['ls', '--format', 'yaml']]) {
      const r = await alice.tp(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('shady');
      noControls(r.stdout);
    }
    const json = JSON.parse((await alice.tp(['ls', '--format', 'json'])).stdout) as { labels: object }[];
    expect(json.map((n) => n.labels)).toContainEqual({ motd: ESCAPES });
    const admin = await f.admin(['nodes', 'ls']);
    expect(admin.stdout).toMatch(/shady .* motd= /);
    noControls(admin.stdout);
  });

  test('a lock message and a user name with escape sequences reach error lines and tp audit search without them', async () => {
    const add = await f.admin(['locks', 'add', '--node', 'shady', '--message', `maintenance${ESCAPES}`]);
    expect(add.code).toBe(0);
    const r = await alice.tp(['ssh', 'shady', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('maintenance');
    noControls(r.stderr);
    const { sshPublicKey, tlsPublicKey } = newHostKeys();
    // A failed login is audited under the user name the client sent, whatever it holds.
    const login = await fetch(`https://${f.cluster.proxy.addr}/webapi/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `${ESCAPES}mallory`, password: 'x', sshPublicKey, tlsPublicKey }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(login.status).toBe(403);
    const audit = await f.admin(['audit', 'search', '--type', 'user.login']);
    expect(audit.stdout).toContain('mallory');
    noControls(audit.stdout);
  });
});
