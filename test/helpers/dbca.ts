import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../core/api/client.ts';
import type { DbClientCert } from '../../core/api/schemas.ts';
import { DbClientCertSchema } from '../../core/api/schemas.ts';
import { formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../../core/crypto/keys.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { clientKeys, startTestCluster, type TestAuth, type TestCluster, waitFor } from './cluster.ts';
import type { CertFiles } from './dbPki.ts';
import { dbSpec, withFixtureDb } from './resourceFixture.ts';

/** A user's TLS client certificate as auth issued it: PEM, the base64 DER agents forward, and when it ends. */
export interface UserTlsCert {
  pem: string;
  /** Its private key (PKCS#8 PEM), for calling the proxy as the user. */
  key: string;
  der64: string;
  notAfter: number;
}

/** Signs a TLS certificate for an existing user through the admin API (`tp ca sign --user`), `ttlMs` long. */
export async function userTlsCert(auth: TestAuth, username: string, ttlMs?: number): Promise<UserTlsCert> {
  const k = clientKeys();
  const r = await auth.client.signUser({
    username,
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
    tlsPublicKey: k.tlsPublicKey,
    ttlMs,
  });
  const x = new X509Certificate(r.tlsCert);
  const key = k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { pem: r.tlsCert, key, der64: x.raw.toString('base64'), notAfter: Date.parse(x.validTo) };
}

/** The databases the test agent heartbeats: `pg1` (env dev) and `pg-prod` (env prod). */
export const SERVED_DBS = [dbSpec('pg1', { env: 'dev' }), dbSpec('pg-prod', { env: 'prod' })];

/**
 * A cluster with one agent, `db-agent`, whose fixture database plugin heartbeats SERVED_DBS (what auth judges a
 * certificate request's labels by); returns once auth holds them.
 */
export async function startDbAgentCluster(): Promise<TestCluster> {
  const c = await startTestCluster({ agents: [{ name: 'db-agent' }], plugins: withFixtureDb(() => SERVED_DBS) });
  await waitFor(
    'the database resources to reach the cluster',
    async () => (await c.proxy.view.resources('db')).length === 2,
  );
  return c;
}

/** A client of the proxy's web API holding the named agent's own node identity, as the agent's plugins call it. */
export function agentClient(cluster: TestCluster, agentName: string): ApiClient {
  const id = requireHostIdentity(cluster.agentDirs.get(agentName)!);
  return new ApiClient([cluster.proxy.addr], { ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey });
}

/** A fresh P-256 key pair: the SPKI PEM the route takes and the PKCS#8 PEM the database client uses. */
export function dbClientKey(): { publicKey: string; privateKey: string } {
  const k = generateKeyPair('p256');
  return {
    publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privateKey: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

let written = 0;

/**
 * Asks the cluster for an ephemeral database client certificate the way an agent does (`POST /webapi/agent/db/cert`
 * with the agent's identity, for `user`), and writes it with its key under `dir` for psql / mariadb.
 */
export async function routeClientCert(
  agent: ApiClient,
  user: UserTlsCert,
  dbUser: string,
  dir: string,
): Promise<CertFiles & { answer: DbClientCert }> {
  const key = dbClientKey();
  const answer = await agent.post(DbClientCertSchema, '/webapi/agent/db/cert', {
    cert: user.der64,
    db_user: dbUser,
    public_key: key.publicKey,
  });
  const base = join(dir, `route-${dbUser}-${++written}`);
  writeFileSync(`${base}.crt`, answer.cert, { mode: 0o644 });
  writeFileSync(`${base}.key`, key.privateKey, { mode: 0o600 });
  return { cert: answer.cert, key: key.privateKey, certPath: `${base}.crt`, keyPath: `${base}.key`, answer };
}
