// The plugin conformance suite (core/plugin/conformance.ts) for db-mysql through a real cluster: a real MariaDB on
// the cluster's db PKI, served by one agent over its reverse tunnel and one direct agent, each given the database
// with the plugin's `--db NAME=mysql://...` flag; the protocol exchange is a MySQL login and `select 1`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { AckSchema } from '../core/api/schemas.ts';
import { type ConformanceHarness, conformanceChecks } from '../core/plugin/conformance.ts';
import mysqlPlugin from '../plugins/db-mysql/index.ts';
import { COM, parseErr } from '../plugins/db-mysql/wire.ts';
import { tpOk } from './helpers/cli.ts';
import { startTestCluster, type TestCluster } from './helpers/cluster.ts';
import { auditEvents, foreignUser, proxySide, signedUser, waitForResources } from './helpers/conformanceHarness.ts';
import { clusterDbPki, type DbServerPki } from './helpers/dbPki.ts';
import { type MariadbServer, mariadbMissing, startMariadbServer } from './helpers/mariadbServer.ts';
import { rawMysqlLoginOn, rawMysqlOn } from './helpers/mysqlRawClient.ts';

if (mariadbMissing) console.error(`\n!!! db-mysql conformance is SKIPPED: ${mariadbMissing}\n`);

let cluster: TestCluster;
let maria: MariadbServer<DbServerPki>;
let harness: ConformanceHarness;
const dir = mkdtempSync(join(tmpdir(), 'tp-mysql-conf-'));

/** Logs in as db user alice on a connection just past the proxy's answer and runs `select 1`. */
async function selectOne(sock: Duplex): Promise<void> {
  const c = await rawMysqlLoginOn(rawMysqlOn(sock), 'alice');
  c.command(Buffer.from([COM.QUERY, ...Buffer.from('select 1')]));
  const first = await c.read();
  const err = parseErr(first.payload);
  if (err) throw new Error(`select 1 failed: ${err.code} ${err.message}`);
  if (first.payload[0] !== 1) throw new Error(`select 1 answered 0x${first.payload[0]?.toString(16)}`);
}

beforeAll(async () => {
  if (mariadbMissing) return;
  cluster = await startTestCluster();
  const admin = (args: string[]) => tpOk([...args, '--data-dir', cluster.auth.dataDir]);
  const signedDir = join(dir, 'signed');
  await admin(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir]);
  maria = await startMariadbServer({
    users: ['alice', 'bob'],
    pki: clusterDbPki({
      signedDir,
      dbCaPem: await admin(['ca', 'export', '--type', 'db']),
      clientCert: () => Promise.reject(new Error('the test makes no client certificates of its own')),
    }),
  });
  const uri = `mysql://127.0.0.1:${maria.port}`;
  await cluster.addAgent({ name: 'maria-tunnel', pluginFlags: { db: [`m-tunnel=${uri}`] } });
  const direct = await cluster.addAgent({
    name: 'maria-direct',
    direct: true,
    pluginFlags: { db: [`m-direct=${uri}`] },
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      metadata: { name: 'dbtester' },
      spec: { allow: { db_labels: { '*': '*' }, db_users: ['alice'], db_names: ['*'] } },
    },
  });
  await cluster.auth.client.createUser({
    name: 'ann',
    roles: ['dbtester'],
    password: 'correct horse battery',
  });
  harness = {
    ...proxySide(cluster),
    resources: [
      { name: 'm-tunnel', via: 'tunnel' },
      { name: 'm-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    principals: { allowed: 'alice', denied: 'bob' },
    user: signedUser(cluster, 'ann'),
    foreignUser: () => foreignUser('ann', ['dbtester']),
    events: auditEvents(cluster),
    protocol: { request: (dbUser) => ({ principal: dbUser, route: { db_user: dbUser } }), exercise: selectOne },
  };
  await waitForResources(cluster, 'db', ['m-tunnel', 'm-direct']);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  await maria?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!!mariadbMissing)('plugin conformance: db-mysql', () => {
  for (const c of conformanceChecks(mysqlPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);

  test('the session the suite ran is audited with the db user and the statement', async () => {
    const q = (await harness.events('db.query')).find((e) => e.statement === 'select 1' && e.db_service === 'm-tunnel');
    expect(q).toMatchObject({ user: 'ann', db_user: 'alice', command: 'COM_QUERY', db_protocol: 'mysql' });
  });
});
