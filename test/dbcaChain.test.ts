import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '../core/api/client.ts';
import { pemBundle } from '../core/crypto/pem.ts';
import { createTlsCA } from '../core/crypto/x509.ts';
import { run, tpOk } from './helpers/cli.ts';
import type { TestCluster } from './helpers/cluster.ts';
import { agentClient, routeClientCert, startDbAgentCluster, type UserTlsCert, userTlsCert } from './helpers/dbca.ts';
import { type CertFiles, type ClusterDbSource, clusterDbPki, type DbServerPki } from './helpers/dbPki.ts';
import {
  MARIADB,
  type MariadbServer,
  mariadbMissing,
  mariadbTlsArgs,
  startMariadbServer,
} from './helpers/mariadbServer.ts';
import { type PostgresServer, postgresMissing, psqlConninfo, startPostgresServer } from './helpers/postgresServer.ts';

// The cluster's own database PKI end to end, with stock clients and real servers: each server's certificate comes
// from `tp ca sign --db`, its client CA from the file that command wrote (the db_client CA), and the client
// certificate from the route agents use; the client verifies the server against the db CA the route answered.

if (postgresMissing) console.error(`\n!!! PostgreSQL chain tests are SKIPPED: ${postgresMissing}\n`);
if (mariadbMissing) console.error(`\n!!! MariaDB chain tests are SKIPPED: ${mariadbMissing}\n`);

let c: TestCluster;
let tmp: string;
let agent: ApiClient;
let alice: UserTlsCert;
let source: ClusterDbSource;
let dbCaPath: string;

beforeAll(async () => {
  c = await startDbAgentCluster();
  tmp = mkdtempSync(join(tmpdir(), 'tp-dbca-chain-'));
  agent = agentClient(c, 'db-agent');
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: { db_users: ['alice'] } });
  alice = await userTlsCert(c.auth, 'alice');
  const signedDir = join(tmp, 'signed');
  await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, '--data-dir', c.auth.dataDir]);
  const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', '--data-dir', c.auth.dataDir]);
  source = { signedDir, dbCaPem, clientCert: (user) => routeClientCert(agent, alice, user, tmp) };
  // The client trusts what the route told the agent to verify database servers against.
  const answer = await routeClientCert(agent, alice, 'alice', tmp);
  dbCaPath = join(tmp, 'route-db-ca.crt');
  writeFileSync(dbCaPath, pemBundle(answer.answer.ca));
}, 60_000);
afterAll(async () => {
  await c?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!!postgresMissing)('PostgreSQL with the cluster PKI', () => {
  let pg: PostgresServer<DbServerPki>;
  beforeAll(async () => {
    pg = await startPostgresServer({ pki: clusterDbPki(source) });
  }, 60_000);
  afterAll(() => pg?.close());
  const psql = (conninfo: string) => run(['psql', '-X', conninfo, '-Atc', 'select current_user']);
  const conninfo = (user: string, cert: CertFiles) => psqlConninfo(pg, user, cert).replace(pg.caPath, dbCaPath);

  test('psql verify-full against the db CA, with the certificate the route signed, is alice', async () => {
    const cert = await routeClientCert(agent, alice, 'alice', tmp);
    const r = await psql(conninfo('alice', cert));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice');
  });

  test("the route's certificate for alice does not log in as bob; a foreign CA's CN=alice is refused", async () => {
    const cert = await routeClientCert(agent, alice, 'alice', tmp);
    const bob = await psql(conninfo('bob', cert));
    expect(bob.stderr).toContain('certificate authentication failed for user "bob"');
    const foreign = await pg.pki.clientCert('alice', await createTlsCA('test.cluster', Date.now()));
    const r = await psql(conninfo('alice', foreign));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown ca');
  });

  test('a client that trusts only the TLS CA refuses the database server (db and tls CAs are apart)', async () => {
    const tlsCa = join(tmp, 'tls-ca.crt');
    writeFileSync(tlsCa, await tpOk(['ca', 'export', '--type', 'tls', '--data-dir', c.auth.dataDir]));
    const cert = await routeClientCert(agent, alice, 'alice', tmp);
    const r = await psql(conninfo('alice', cert).replace(dbCaPath, tlsCa));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('certificate verify failed');
  });
});

describe.skipIf(!!mariadbMissing)('MariaDB with the cluster PKI', () => {
  let m: MariadbServer<DbServerPki>;
  beforeAll(async () => {
    m = await startMariadbServer({ pki: clusterDbPki(source) });
  }, 60_000);
  afterAll(() => m?.close());
  const mariadb = (user: string, cert: CertFiles) =>
    run([
      MARIADB.client!,
      ...mariadbTlsArgs(m, user, cert).map((a) => a.replace(m.caPath, dbCaPath)),
      '-N',
      '-B',
      '-e',
      'select current_user()',
    ]);

  test("mariadb verifying the server against the db CA, with the route's certificate, is alice@% (REQUIRE SUBJECT)", async () => {
    const r = await mariadb('alice', await routeClientCert(agent, alice, 'alice', tmp));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice@%');
  });

  test("the route's certificate for alice does not log in as bob", async () => {
    const r = await mariadb('bob', await routeClientCert(agent, alice, 'alice', tmp));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Access denied for user 'bob'");
  });
});
