import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '../core/api/client.ts';
import { pemBundle } from '../core/crypto/pem.ts';
import { run, tpOk } from './helpers/cli.ts';
import { type TestCluster, waitFor } from './helpers/cluster.ts';
import { agentClient, routeClientCert, startDbAgentCluster, type UserTlsCert, userTlsCert } from './helpers/dbca.ts';
import { clusterDbPki, type DbServerPki } from './helpers/dbPki.ts';
import { type PostgresServer, postgresMissing, psqlConninfo, startPostgresServer } from './helpers/postgresServer.ts';

// Rotating the database CAs against a real PostgreSQL, the way an operator does it: in init the exported db_client
// bundle holds old and new (put it in ssl_ca_file and reload); from update_clients agents present certificates from
// the new CA; a db rotation hands agents both db CAs until standby, so a server re-signed in update_clients is
// verified throughout.

if (postgresMissing) console.error(`\n!!! PostgreSQL rotation tests are SKIPPED: ${postgresMissing}\n`);

let c: TestCluster;
let tmp: string;
let agent: ApiClient;
let alice: UserTlsCert;
let pg: PostgresServer<DbServerPki>;

const tpAdmin = (args: string[]) => tpOk([...args, '--data-dir', c.auth.dataDir]);

/** Moves the manual rotation to `phase` once every agent took on the current one. */
async function phase(next: string): Promise<void> {
  await waitFor('the agent to take on the phase', async () =>
    (await c.auth.client.rotationStatus()).servers.every((s) => s.caughtUp),
  );
  await tpAdmin(['rotate', 'phase', next]);
}

/** psql as alice with a fresh certificate from the route, verifying the server against the CAs the route named. */
async function aliceViaRoute(): Promise<{ out: string; err: string; issuer: string }> {
  const cert = await routeClientCert(agent, alice, 'alice', tmp);
  const roots = join(tmp, 'roots.crt');
  writeFileSync(roots, pemBundle(cert.answer.ca));
  const info = psqlConninfo(pg, 'alice', cert).replace(pg.caPath, roots);
  const r = await run(['psql', '-X', info, '-Atc', 'select current_user']);
  return { out: r.stdout.trim(), err: r.stderr, issuer: new X509Certificate(cert.cert).issuer };
}

const reload = () => pg.admin('select pg_reload_conf()');

beforeAll(async () => {
  if (postgresMissing) return;
  c = await startDbAgentCluster();
  tmp = mkdtempSync(join(tmpdir(), 'tp-dbca-rot-'));
  agent = agentClient(c, 'db-agent');
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: { db_users: ['alice'] } });
  alice = await userTlsCert(c.auth, 'alice');
  const signedDir = join(tmp, 'signed');
  await tpAdmin(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir]);
  const dbCaPem = await tpAdmin(['ca', 'export', '--type', 'db']);
  pg = await startPostgresServer({
    pki: clusterDbPki({ signedDir, dbCaPem, clientCert: (u) => routeClientCert(agent, alice, u, tmp) }),
  });
}, 90_000);
afterAll(async () => {
  await pg?.close();
  await c?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!!postgresMissing)('database CA rotation with a real PostgreSQL', () => {
  test('db_client: old and new exported in init; new client certificates accepted once the server trusts both', async () => {
    const before = await aliceViaRoute();
    expect(before.out).toBe('alice');
    await tpAdmin(['rotate', 'start', '--type', 'db_client', '--manual']);
    const bundle = await tpAdmin(['ca', 'export', '--type', 'db_client']);
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    // init: the old CA still signs, so nothing changes for the database yet.
    expect(await aliceViaRoute()).toMatchObject({ out: 'alice', issuer: before.issuer });
    writeFileSync(pg.pki.clientCaPath, bundle);
    await reload();
    await phase('update_clients');
    const next = await aliceViaRoute();
    expect(next.err).toBe('');
    expect(next).toMatchObject({ out: 'alice' });
    await phase('update_servers');
    await phase('standby');
    const final = await tpAdmin(['ca', 'export', '--type', 'db_client']);
    expect(final.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    writeFileSync(pg.pki.clientCaPath, final);
    await reload();
    expect((await aliceViaRoute()).out).toBe('alice');
  }, 90_000);

  test('db: agents trust both db CAs until standby, so a server re-signed in update_clients keeps working', async () => {
    await tpAdmin(['rotate', 'start', '--type', 'db', '--manual']);
    await phase('update_clients');
    const cert = await routeClientCert(agent, alice, 'alice', tmp);
    expect(cert.answer.ca).toHaveLength(2);
    const resigned = join(tmp, 'resigned');
    await tpAdmin(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', resigned]);
    // The server certificate and key are rewritten in place (the files keep the owner and mode postgres needs).
    writeFileSync(pg.pki.server.certPath, readFileSync(join(resigned, 'server.crt')));
    writeFileSync(pg.pki.server.keyPath, readFileSync(join(resigned, 'server.key')));
    await reload();
    expect((await aliceViaRoute()).out).toBe('alice');
    await phase('update_servers');
    await phase('standby');
    const after = await routeClientCert(agent, alice, 'alice', tmp);
    expect(after.answer.ca).toHaveLength(1);
    expect((await aliceViaRoute()).out).toBe('alice');
    // The server certificate from before the rotation no longer verifies against what agents now trust.
    const old = new X509Certificate(readFileSync(join(tmp, 'signed', 'server.crt')));
    expect(old.verify(new X509Certificate(after.answer.ca[0]!).publicKey)).toBe(false);
  }, 90_000);
});
