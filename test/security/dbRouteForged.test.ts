// A stream header's route is the client's (or a compromised proxy's) word: the database plugins judge the db user and
// database it names against the roles at the agent, before acking the stream, so a forged route is refused typed and
// audited there even when the proxy checked nothing. (Before, the agent acked any route and only the protocol's own
// StartupMessage or handshake was checked later, inside the session.)
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AckSchema } from '../../core/api/schemas.ts';
import { type HostIdentity, requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { auditOf } from '../helpers/audit.ts';
import { startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { derOf, dialAgentAsProxy, signedUser } from '../helpers/conformanceHarness.ts';

let cluster: TestCluster;
let proxyId: HostIdentity;
let agentAddr: string;
let alice: string;

/** Opens a stream to the direct agent holding the proxy's identity, writes `header`, returns the agent's first line. */
async function forge(header: Record<string, unknown>): Promise<unknown> {
  const sock = await dialAgentAsProxy(agentAddr, proxyId);
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString();
  });
  sock.write(`${JSON.stringify({ v: 1, client: '10.0.0.9:1', cert: alice, ...header })}\n`);
  await waitFor('the agent to answer', () => got.includes('\n'), 5_000);
  sock.destroy();
  return JSON.parse(got.slice(0, got.indexOf('\n')));
}

beforeAll(async () => {
  cluster = await startTestCluster({
    agents: [
      // Nothing listens on port 1: a stream the agent acks would fail only later, connecting to the server.
      {
        name: 'db-direct',
        direct: true,
        pluginFlags: { db: ['pg1=postgres://127.0.0.1:1', 'm1=mysql://127.0.0.1:1'] },
      },
    ],
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      metadata: { name: 'app-db' },
      spec: { allow: { db_labels: { '*': '*' }, db_users: ['alice'], db_names: ['app'] } },
    },
  });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['app-db'] });
  alice = derOf((await signedUser(cluster, 'alice')()).cert);
  proxyId = requireHostIdentity(cluster.layout.proxyDir);
  agentAddr = cluster.agents.get('db-direct')!.directAddr!;
  // The agent judges roles from its replica of the cluster state: wait until the new role has reached it.
  await waitFor(
    'the role to reach the agent',
    async () => {
      const a = (await forge({ service: 'db-postgres', resource: 'pg1', route: { db_user: 'alice' } })) as {
        ok: boolean;
      };
      return a.ok === true;
    },
    15_000,
  );
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe.each([
  ['db-postgres', 'pg1'],
  ['db-mysql', 'm1'],
])('a forged route on a %s stream', (service, resource) => {
  test('a db user the roles lack is refused in the ack, typed, and audited at the node', async () => {
    const answer = await forge({ service, resource, route: { db_user: 'postgres' } });
    expect(answer).toEqual({
      ok: false,
      error: {
        code: 'access_denied',
        message: 'database user "postgres" is not allowed by roles [app-db]; allowed users: alice',
      },
    });
    const find = async () =>
      (await auditOf(cluster.auth.admin, 'auth.attempt')).findLast((e) => e.via === 'node' && e.target === resource);
    // The agent's events reach auth through its spool.
    await waitFor('the refusal in the audit log', async () => (await find()) !== undefined, 10_000);
    const refused = await find();
    expect(refused).toMatchObject({ success: false, kind: 'db', user: 'alice' });
    expect(String(refused?.error)).toContain('database user "postgres"');
  });

  test('a database the roles lack is refused in the ack; the allowed route is acked', async () => {
    const denied = await forge({ service, resource, route: { db_user: 'alice', db_name: 'secret' } });
    expect(denied).toMatchObject({ ok: false, error: { code: 'access_denied' } });
    expect(JSON.stringify(denied)).toContain('database name \\"secret\\" is not allowed for user \\"alice\\"');
    expect(await forge({ service, resource, route: { db_user: 'alice', db_name: 'app' } })).toEqual({ ok: true });
  });
});
