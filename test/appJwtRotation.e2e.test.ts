import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ApiClient } from '../core/api/client.ts';
import { AppTokenSchema, JwksSchema } from '../core/api/schemas.ts';
import { startAppAgentCluster } from './helpers/appFixture.ts';
import { tp } from './helpers/cli.ts';
import type { TestCluster } from './helpers/cluster.ts';
import { agentClient, type UserTlsCert, userTlsCert } from './helpers/dbca.ts';

// `tp rotate --type jwt` through the real CLI: the proxy's JWKS serves the old and the new key for the whole
// rotation (apps keep verifying tokens signed by either), and only the new one once it is over.

let c: TestCluster;
let agent: ApiClient;
let anyone: ApiClient;
let alice: UserTlsCert;
const admin = async (args: string[]) => {
  const r = await tp([...args, '--data-dir', c.auth.dataDir]);
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const kids = async () => (await anyone.get(JwksSchema, '/.well-known/jwks.json')).keys.map((k) => k.kid);
const token = async () =>
  (await agent.post(AppTokenSchema, '/webapi/agent/app/token', { cert: alice.der64, app: 'grafana' })).token;
const verifies = async (t: string) => {
  const jwks = createLocalJWKSet(await anyone.get(JwksSchema, '/.well-known/jwks.json'));
  return jwtVerify(t, jwks, { issuer: 'test.cluster', audience: 'http://127.0.0.1:3000' }).then(
    () => true,
    () => false,
  );
};
/** Waits (bounded) until the proxy's replica serves `n` JWKS keys. */
const keysBecome = async (n: number) => {
  for (let i = 0; i < 100 && (await kids()).length !== n; i++) await Bun.sleep(50);
  return kids();
};

beforeAll(async () => {
  c = await startAppAgentCluster();
  agent = agentClient(c, 'app-agent');
  // No client certificate: the JWKS is public.
  anyone = new ApiClient([c.proxy.addr], { ca: (await c.auth.client.getCa('tls')).tlsCerts });
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: {} });
  alice = await userTlsCert(c.auth, 'alice');
}, 60_000);
afterAll(() => c?.close());

test('during a JWT CA rotation the JWKS serves both keys and tokens of either verify; after it only the new key', async () => {
  const [oldKid] = await kids();
  const fromOld = await token();
  expect(decodeProtectedHeader(fromOld).kid).toBe(oldKid);
  await admin(['rotate', 'start', '--type', 'jwt', '--manual']);
  const init = await keysBecome(2);
  expect(init[0]).toBe(oldKid);
  // init: the new key is published before anything is signed with it.
  expect(decodeProtectedHeader(await token()).kid).toBe(oldKid);
  await admin(['rotate', 'phase', 'update_clients']);
  const newKid = init[1]!;
  for (let i = 0; i < 100 && decodeProtectedHeader(await token()).kid !== newKid; i++) await Bun.sleep(50);
  const fromNew = await token();
  expect(decodeProtectedHeader(fromNew).kid).toBe(newKid);
  expect(await kids()).toEqual([newKid, oldKid!]);
  expect([await verifies(fromOld), await verifies(fromNew)]).toEqual([true, true]);
  await admin(['rotate', 'phase', 'update_servers']);
  await admin(['rotate', 'phase', 'standby']);
  expect(await keysBecome(1)).toEqual([newKid]);
  expect([await verifies(fromOld), await verifies(fromNew)]).toEqual([false, true]);
}, 60_000);
