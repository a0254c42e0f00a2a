import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema, DbClientCertSchema } from '../../core/api/schemas.ts';
import { caKey, StoredCaSchema } from '../../core/auth/cas.ts';
import { getDoc } from '../../core/backend/json.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { auditOf } from '../helpers/audit.ts';
import type { TestCluster } from '../helpers/cluster.ts';
import { agentClient, dbClientKey, startDbAgentCluster, type UserTlsCert, userTlsCert } from '../helpers/dbca.ts';

// The route agents get their ephemeral database client certificates from: auth signs one only for an agent, only
// on behalf of a user certificate it verifies itself (its own TLS CA, the clock), only for a database user the
// user's roles grant, never for a locked user, and never longer than the user's own certificate.

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
let c: TestCluster;
let agent: ApiClient;
let alice: UserTlsCert;

const ask = (client: ApiClient, cert: string, dbUser: string, extra: Record<string, unknown> = {}) =>
  client.post(DbClientCertSchema, '/webapi/agent/db/cert', {
    cert,
    db_user: dbUser,
    public_key: dbClientKey().publicKey,
    ...extra,
  });
const refusals = async () => (await auditOf(c.auth.admin, 'cert.create')).filter((e) => e.success === false);

beforeAll(async () => {
  c = await startDbAgentCluster();
  agent = agentClient(c, 'db-agent');
  const user = (name: string, roles: string[], traits: Record<string, string[]>) =>
    c.auth.client.createUser({ name, roles, traits });
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      kind: 'role',
      version: 'v1',
      metadata: { name: 'dev-db' },
      spec: { allow: { db_labels: { env: 'dev' }, db_users: ['*'], db_names: ['*'] }, deny: {} },
    },
  });
  await user('alice', ['access'], { db_users: ['alice'], logins: ['alice'] });
  await user('carol', ['dev-db'], {});
  await user('dave', ['access'], { db_users: ['dave'] });
  alice = await userTlsCert(c.auth, 'alice');
}, 60_000);
afterAll(() => c?.close());

describe('ephemeral database client certificates', () => {
  test('an agent gets CN=<db user> only, clientAuth, from the db_client CA, and the db CA to verify servers', async () => {
    const r = await ask(agent, alice.der64, 'alice');
    const cert = new X509Certificate(r.cert);
    expect(cert.subject).toBe('CN=alice');
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    const clientCa = await c.auth.client.getCa('db_client');
    expect(cert.verify(new X509Certificate(clientCa.tlsCerts[0]!).publicKey)).toBe(true);
    const tlsCa = await c.auth.client.getCa('tls');
    expect(cert.verify(new X509Certificate(tlsCa.tlsCerts[0]!).publicKey)).toBe(false);
    expect(r.ca).toEqual((await c.auth.client.getCa('db')).tlsCerts);
    expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(Math.min(alice.notAfter, Date.now() + 3_600_000));
    const ok = (await auditOf(c.auth.admin, 'cert.create')).findLast((e) => e.cert_type === 'db_client');
    expect(ok).toMatchObject({ success: true, user: 'alice', db_user: 'alice', server_id: expect.any(String) });
    // No secret or certificate text in the event.
    expect(JSON.stringify(ok)).not.toContain(alice.der64.slice(0, 40));
    expect(JSON.stringify(ok)).not.toContain('BEGIN');
  });

  test("a client certificate never outlives the user's own", async () => {
    const short = await userTlsCert(c.auth, 'alice', 120_000);
    const r = await ask(agent, short.der64, 'alice');
    expect(Date.parse(new X509Certificate(r.cert).validTo)).toBe(short.notAfter);
  });

  test('a user certificate from a foreign CA with the cluster name is refused, and the refusal audited', async () => {
    const rogue = await createTlsCA('test.cluster', Date.now());
    const key = dbClientKey();
    const pem = await issueTlsCert({
      ca: rogue,
      publicKey: key.publicKey,
      subject: {
        commonName: 'alice',
        organization: ['admin'],
        identity: { kind: 'user', traits: { db_users: ['*'] } },
      },
      now: Date.now(),
      ttlMs: 3_600_000,
      usage: 'client',
    });
    const der64 = new X509Certificate(pem).raw.toString('base64');
    await expect(ask(agent, der64, 'alice')).rejects.toThrow('not signed by this cluster');
    expect((await refusals()).at(-1)).toMatchObject({ cert_type: 'db_client', db_user: 'alice', success: false });
  });

  test('an expired user certificate from the real TLS CA is refused', async () => {
    const tls = (await getDoc(c.auth.server.backend, caKey('tls'), StoredCaSchema))!.value.active.tls!;
    const pem = await issueTlsCert({
      ca: tls,
      publicKey: dbClientKey().publicKey,
      subject: {
        commonName: 'alice',
        organization: ['access'],
        identity: { kind: 'user', traits: { db_users: ['alice'] } },
      },
      now: Date.now() - 3 * 3_600_000,
      ttlMs: 3_600_000,
      usage: 'client',
    });
    const der64 = new X509Certificate(pem).raw.toString('base64');
    await expect(ask(agent, der64, 'alice')).rejects.toThrow('expired');
  });

  test("a database user the roles lack is refused; labels are those the agent heartbeats, not the caller's word", async () => {
    await expect(ask(agent, alice.der64, 'postgres')).rejects.toThrow(
      'database user "postgres" is not allowed by roles [access]',
    );
    const carol = await userTlsCert(c.auth, 'carol');
    // dev-db reaches env=dev only: pg1 grants, pg-prod does not, and without a name one served database suffices.
    expect((await ask(agent, carol.der64, 'app', { db: 'pg1' })).cert).toContain('BEGIN CERTIFICATE');
    expect((await ask(agent, carol.der64, 'app')).cert).toContain('BEGIN CERTIFICATE');
    await expect(ask(agent, carol.der64, 'app', { db: 'pg-prod' })).rejects.toThrow(
      'database labels do not match any of roles [dev-db]',
    );
    expect((await refusals()).at(-1)).toMatchObject({ user: 'carol', db_user: 'app' });
    await expect(ask(agent, carol.der64, 'app', { db: 'elsewhere' })).rejects.toThrow(
      'does not serve database "elsewhere"',
    );
    // Labels in the body are not taken: the schema refuses the field.
    await expect(ask(agent, carol.der64, 'app', { db: 'pg-prod', labels: { env: 'dev' } })).rejects.toThrow('labels');
  });

  test('a database user that would smuggle a second name into the subject is refused even under db_users "*"', async () => {
    const carol = await userTlsCert(c.auth, 'carol');
    await expect(ask(agent, carol.der64, 'app/O=admins')).rejects.toThrow('cannot be named in a certificate');
    await expect(ask(agent, carol.der64, 'app,CN=root')).rejects.toThrow('cannot be named in a certificate');
  });

  test('a locked user gets none', async () => {
    const dave = await userTlsCert(c.auth, 'dave');
    expect((await ask(agent, dave.der64, 'dave')).cert).toContain('BEGIN CERTIFICATE');
    const lock = await c.auth.client.createLock({ target: { user: 'dave' }, message: 'left' });
    await expect(ask(agent, dave.der64, 'dave')).rejects.toThrow('locked');
    await c.auth.client.removeLock(lock.id);
  });

  test('only agents: a proxy at auth, and a user at the agent route or through the admin forward, are refused', async () => {
    const proxy = await c.auth.proxy();
    const body = { cert: alice.der64, db_user: 'alice', public_key: dbClientKey().publicKey };
    await expect(proxy.post(AckSchema, '/v1/db/cert', body)).rejects.toThrow(
      'only agents get database client certificates',
    );
    const tlsCa = (await c.auth.client.getCa('tls')).tlsCerts;
    const asUser = new ApiClient([c.proxy.addr], { ca: tlsCa, cert: alice.pem, key: alice.key });
    await expect(asUser.post(AckSchema, '/webapi/agent/db/cert', body)).rejects.toThrow('for node identities');
    await expect(asUser.post(AckSchema, '/webapi/auth/v1/db/cert', body)).rejects.toThrow(
      'only agents get database client certificates',
    );
    await expect(c.auth.anonymous.post(AckSchema, '/v1/db/cert', body)).rejects.toThrow(
      'a node certificate is required',
    );
    const attempts = (await auditOf(c.auth.admin, 'auth.attempt')).filter((e) => e.action === 'db.cert');
    // Refusals at auth are audited (the proxy's own refusal of a user never reaches auth; anonymous callers write nothing).
    expect(attempts.map((e) => e.user)).toEqual([expect.any(String), 'alice']);
  });
});
