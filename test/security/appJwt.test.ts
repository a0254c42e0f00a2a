import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema, AppTokenSchema, JwksSchema } from '../../core/api/schemas.ts';
import { caKey, StoredCaSchema } from '../../core/auth/cas.ts';
import { getDoc } from '../../core/backend/json.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { startAppAgentCluster } from '../helpers/appFixture.ts';
import { auditOf } from '../helpers/audit.ts';
import type { TestCluster } from '../helpers/cluster.ts';
import { agentClient, dbClientKey, type UserTlsCert, userTlsCert } from '../helpers/dbca.ts';

// The route agents get app identity tokens from (`tp-jwt-assertion`): auth signs one only for an agent, only on
// behalf of a user certificate it verifies itself, only for an app that agent heartbeats and the user's roles reach,
// never for a locked user or app, never longer than the user's certificate; apps verify it with the proxy's JWKS.

let c: TestCluster;
let agent: ApiClient;
let alice: UserTlsCert;

const ask = (client: ApiClient, cert: string, app: string) =>
  client.post(AppTokenSchema, '/webapi/agent/app/token', { cert, app });
const jwks = async () => (await agent.get(JwksSchema, '/.well-known/jwks.json')).keys;
const verify = async (token: string, audience = 'http://127.0.0.1:3000') =>
  jwtVerify(token, createLocalJWKSet({ keys: await jwks() }), { issuer: 'test.cluster', audience });
const refusals = async () =>
  (await auditOf(c.auth.admin, 'auth.attempt')).filter((e) => e.action === 'app.token' && e.success === false);

/** A user certificate signed by `ca`, as tp would issue one (user kind, roles, traits). */
async function certFrom(ca: { cert: string; key: string }, name: string, now: number): Promise<string> {
  const pem = await issueTlsCert({
    ca,
    publicKey: dbClientKey().publicKey,
    subject: { commonName: name, organization: ['admin'], identity: { kind: 'user', traits: {} } },
    now,
    ttlMs: 3_600_000,
    usage: 'client',
  });
  return new X509Certificate(pem).raw.toString('base64');
}

beforeAll(async () => {
  c = await startAppAgentCluster();
  agent = agentClient(c, 'app-agent');
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      kind: 'role',
      version: 'v1',
      metadata: { name: 'dev-apps' },
      spec: { allow: { app_labels: { env: 'dev' } }, deny: {} },
    },
  });
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      kind: 'role',
      version: 'v1',
      metadata: { name: 'no-grafana' },
      spec: { allow: {}, deny: { app_labels: { env: 'dev' } } },
    },
  });
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: { logins: ['alice', 'ops'] } });
  await c.auth.client.createUser({ name: 'carol', roles: ['dev-apps'], traits: {} });
  await c.auth.client.createUser({ name: 'erin', roles: ['access', 'no-grafana'], traits: {} });
  await c.auth.client.createUser({ name: 'dave', roles: ['access'], traits: {} });
  alice = await userTlsCert(c.auth, 'alice');
}, 60_000);
afterAll(() => c?.close());

describe('app identity tokens', () => {
  test("a token verifies with jose against the proxy's JWKS and carries the user, roles, traits and the app URI", async () => {
    const r = await ask(agent, alice.der64, 'grafana');
    const { payload, protectedHeader } = await verify(r.token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: (await jwks())[0]!.kid });
    expect(payload).toMatchObject({
      iss: 'test.cluster',
      aud: 'http://127.0.0.1:3000',
      sub: 'alice',
      username: 'alice',
      roles: ['access'],
      traits: { logins: ['alice', 'ops'] },
    });
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(payload.exp! * 1000).toBeLessThanOrEqual(alice.notAfter);
    expect(Date.parse(r.expires)).toBeGreaterThan(Date.now());
    // For another audience (another app) the same token does not verify.
    await expect(verify(r.token, 'http://127.0.0.1:3001')).rejects.toThrow('aud');
  });

  test('the JWKS holds public keys only, one per trusted JWT CA key, named by kid; the CA is not the TLS CA', async () => {
    const keys = await jwks();
    const ca = await c.auth.client.getCa('jwt');
    expect(keys).toHaveLength(ca.tlsCerts.length);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256', kid: expect.any(String) });
    for (const k of keys) expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(new X509Certificate(ca.tlsCerts[0]!).subject).toContain('CN=test.cluster JWT CA');
  });

  test("a token never outlives the user's certificate", async () => {
    const short = await userTlsCert(c.auth, 'alice', 20_000);
    const { payload } = await verify((await ask(agent, short.der64, 'grafana')).token);
    expect(payload.exp! * 1000).toBeLessThanOrEqual(short.notAfter);
  });

  test('a user certificate from a foreign CA with the cluster name is refused, and the refusal audited', async () => {
    const rogue = await createTlsCA('test.cluster', Date.now());
    await expect(ask(agent, await certFrom(rogue, 'alice', Date.now()), 'grafana')).rejects.toThrow(
      'not signed by this cluster',
    );
    expect((await refusals()).at(-1)).toMatchObject({ app_name: 'grafana', error: expect.stringContaining('signed') });
  });

  test('an expired user certificate from the real TLS CA is refused', async () => {
    const tls = (await getDoc(c.auth.server.backend, caKey('tls'), StoredCaSchema))!.value.active.tls!;
    await expect(ask(agent, await certFrom(tls, 'alice', Date.now() - 3 * 3_600_000), 'grafana')).rejects.toThrow(
      'expired',
    );
  });

  test("an app the roles do not reach, or deny, is refused by the labels the agent heartbeats; so is one it doesn't serve", async () => {
    const carol = await userTlsCert(c.auth, 'carol');
    expect((await verify((await ask(agent, carol.der64, 'grafana')).token)).payload.sub).toBe('carol');
    await expect(ask(agent, carol.der64, 'billing')).rejects.toThrow(
      'access to app "billing" is not allowed by roles [dev-apps]',
    );
    const erin = await userTlsCert(c.auth, 'erin');
    await expect(ask(agent, erin.der64, 'grafana')).rejects.toThrow('access to app "grafana" is not allowed');
    expect((await refusals()).at(-1)).toMatchObject({ user: 'erin', app_name: 'grafana' });
    await expect(ask(agent, alice.der64, 'elsewhere')).rejects.toThrow('does not serve app "elsewhere"');
  });

  test('a locked user, or a locked app, gets none', async () => {
    const dave = await userTlsCert(c.auth, 'dave');
    expect((await ask(agent, dave.der64, 'grafana')).token).toContain('.');
    const lock = await c.auth.client.createLock({ target: { user: 'dave' }, message: 'left' });
    await expect(ask(agent, dave.der64, 'grafana')).rejects.toThrow('user "dave" is locked: left');
    await c.auth.client.removeLock(lock.id);
    const appLock = await c.auth.client.createLock({ target: { resource: 'app/grafana' }, message: 'incident' });
    await expect(ask(agent, dave.der64, 'grafana')).rejects.toThrow('app "grafana" is locked: incident');
    expect((await ask(agent, dave.der64, 'billing')).token).toContain('.');
    await c.auth.client.removeLock(appLock.id);
  });

  test('only agents: a proxy at auth, and a user at the agent route or through the admin forward, are refused', async () => {
    const proxy = await c.auth.proxy();
    const body = { cert: alice.der64, app: 'grafana' };
    await expect(proxy.post(AckSchema, '/v1/apps/token', body)).rejects.toThrow('only agents get app identity tokens');
    const tlsCa = (await c.auth.client.getCa('tls')).tlsCerts;
    const asUser = new ApiClient([c.proxy.addr], { ca: tlsCa, cert: alice.pem, key: alice.key });
    await expect(asUser.post(AckSchema, '/webapi/agent/app/token', body)).rejects.toThrow('for node identities');
    await expect(asUser.post(AckSchema, '/webapi/auth/v1/apps/token', body)).rejects.toThrow(
      'only agents get app identity tokens',
    );
    await expect(c.auth.anonymous.post(AckSchema, '/v1/apps/token', body)).rejects.toThrow(
      'a node certificate is required',
    );
    // A token's header names its key; nothing in a refusal's audit event carries the certificate.
    expect(JSON.stringify(await refusals())).not.toContain(alice.der64.slice(0, 40));
    expect(decodeProtectedHeader((await ask(agent, alice.der64, 'grafana')).token).typ).toBe('JWT');
  });
});
