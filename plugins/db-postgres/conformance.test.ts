// The plugin conformance suite (core/plugin/conformance.ts) for db-postgres, through a real cluster: one agent
// serving a real PostgreSQL over its reverse tunnel, one direct agent serving the same server under another name,
// both given it with `--db NAME=postgres://...`; the server runs on the cluster's own db PKI.
import { afterAll, beforeAll, describe, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import { tpOk } from '../../test/helpers/cli.ts';
import { startTestCluster, type TestCluster } from '../../test/helpers/cluster.ts';
import {
  auditEvents,
  foreignUser,
  proxySide,
  signedUser,
  waitForResources,
} from '../../test/helpers/conformanceHarness.ts';
import { clusterDbPki, type DbServerPki } from '../../test/helpers/dbPki.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from '../../test/helpers/postgresServer.ts';
import postgresPlugin from './index.ts';
import { type BackendMessage, BackendParser, query, startupMessage } from './wire.ts';

if (postgresMissing) console.error(`\n!!! db-postgres conformance is SKIPPED: ${postgresMissing}\n`);

let cluster: TestCluster;
let pg: PostgresServer<DbServerPki>;
let harness: ConformanceHarness;
const tmp = mkdtempSync(join(tmpdir(), 'tp-pg-conformance-'));

/** Logs in as alice on postgres and runs `select 1`; rejects on an ErrorResponse, a close, or after 10 s. */
function pgExchange(sock: Duplex): Promise<void> {
  const parser = new BackendParser();
  let ready = 0;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer from PostgreSQL after ${ready} ReadyForQuery`)), 10_000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () => done(new Error('the connection closed in the middle of the exchange'));
    const onData = (b: Buffer) => {
      let messages: BackendMessage[];
      try {
        messages = parser.push(b);
      } catch (err) {
        return done(err as Error);
      }
      for (const m of messages) {
        if (m.type === 'ErrorResponse') return done(new Error(`PostgreSQL refused: ${m.fields.M}`));
        if (m.type !== 'ReadyForQuery') continue;
        if (++ready === 1) sock.write(query('select 1'));
        else return done();
      }
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.write(startupMessage({ user: 'alice', database: 'postgres' }));
    sock.resume(); // the suite hands the socket over paused, just past the proxy's answer
  });
}

beforeAll(async () => {
  if (postgresMissing) return;
  cluster = await startTestCluster({});
  const admin = ['--data-dir', cluster.auth.dataDir];
  const signedDir = join(tmp, 'signed');
  await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, ...admin]);
  const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', ...admin]);
  pg = await startPostgresServer({
    users: ['alice', 'bob'],
    pki: clusterDbPki({ signedDir, dbCaPem, clientCert: () => Promise.reject(new Error('not used here')) }),
  });
  const uri = `postgres://127.0.0.1:${pg.port}`;
  await cluster.addAgent({ name: 'pg-agent-tunnel', pluginFlags: { db: [`pg-tunnel=${uri}`] } });
  const direct = await cluster.addAgent({
    name: 'pg-agent-direct',
    direct: true,
    pluginFlags: { db: [`pg-direct=${uri}`] },
  });
  await cluster.auth.client.createUser({
    name: 'alice',
    roles: ['access'],
    traits: { db_users: ['alice'], db_names: ['postgres'] },
    password: 'correct horse battery',
  });
  harness = {
    ...proxySide(cluster),
    resources: [
      { name: 'pg-tunnel', via: 'tunnel' },
      { name: 'pg-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    principals: { allowed: 'alice', denied: 'bob' },
    user: signedUser(cluster, 'alice'),
    foreignUser: () => foreignUser('alice', ['access']),
    events: auditEvents(cluster),
    protocol: {
      request: (dbUser) => ({ principal: dbUser, route: { db_user: dbUser, db_name: 'postgres' } }),
      exercise: pgExchange,
    },
  };
  await waitForResources(cluster, 'db', ['pg-tunnel', 'pg-direct']);
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await pg?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!!postgresMissing)('plugin conformance: db-postgres', () => {
  for (const c of conformanceChecks(postgresPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);
});
