// PostgreSQL through the whole product: `tp start` with db.databases in tp.yaml (auth, proxy and an agent in one
// process), a real PostgreSQL on the cluster's own PKI (server certificate from `tp ca sign --db`, trusting the
// db_client CA), a user logged in with the real CLI, and stock psql through `tp db connect` and `tp proxy db --tunnel`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, tp, tpOk } from './helpers/cli.ts';
import { clusterDbPki, type DbServerPki } from './helpers/dbPki.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from './helpers/postgresServer.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');

if (postgresMissing) console.error(`\n!!! PostgreSQL end-to-end tests are SKIPPED: ${postgresMissing}\n`);

const dir = mkdtempSync(join(tmpdir(), 'tp-pg-e2e-'));
const dataDir = join(dir, 'data');
const admin = ['--data-dir', dataDir];
let pg: PostgresServer<DbServerPki>;
let cluster: TpDaemon | undefined;
let proxyAddr = '';

/** tp.yaml for the all-in-one cluster; with `pgPort`, the agent serves that PostgreSQL as pg1. */
function writeConfig(authPort: number, proxyPort: number, pgPort?: number): string {
  const path = join(dir, 'tp.yaml');
  const db = pgPort
    ? `db:\n  enabled: true\n  databases:\n    - {name: pg1, protocol: postgres, uri: "127.0.0.1:${pgPort}", labels: {env: dev}}\n`
    : '';
  writeFileSync(
    path,
    `cluster_name: pg.e2e\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
      `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:0}\nssh: {name: db-host}\n${db}`,
  );
  return path;
}

const PASSWORD = 'correct horse battery staple';
/** The CLI environment of a user: their own TP_HOME. */
const as = (user: string) => ({ env: { TP_HOME: join(dir, `home-${user}`) } });

/** Adds a user who may be db user alice on databases alice and postgres (the preset access role). */
async function addUser(name: string): Promise<void> {
  const traits = ['--db-users', 'alice', '--db-names', 'alice,postgres'];
  await tpOk(['users', 'add', name, '--roles', 'access', ...traits, '--password-stdin', ...admin], { stdin: PASSWORD });
}

/** Logs `name` in with the real CLI (a certificate of `ttl` when given). */
async function login(name: string, ttl?: string): Promise<void> {
  mkdirSync(as(name).env.TP_HOME, { recursive: true });
  const args = ['login', '--proxy', proxyAddr, '--user', name, '--password-stdin', '--insecure'];
  await tpOk([...args, ...(ttl ? ['--ttl', ttl] : [])], { ...as(name), stdin: PASSWORD });
}

const start = (config: string) => startTpDaemon(['start', '--config', config, ...admin], /og in and connect/);

beforeAll(async () => {
  if (postgresMissing) return;
  const [authPort, proxyPort] = [await freePort(), await freePort()];
  proxyAddr = `127.0.0.1:${proxyPort}`;
  // First start makes the cluster and its CAs; the database server is then set up with them, and the cluster
  // restarted with the database in its config (the agent reads db.databases at start-up).
  cluster = await start(writeConfig(authPort, proxyPort));
  const signedDir = join(dir, 'signed');
  await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, ...admin]);
  const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', ...admin]);
  await cluster.stop();
  pg = await startPostgresServer({
    users: ['alice', 'bob'],
    pki: clusterDbPki({
      signedDir,
      dbCaPem,
      clientCert: () => Promise.reject(new Error('the test makes no client certificates of its own')),
    }),
  });
  // alice's own database: psql without a database name asks for the one named like the user.
  await pg.admin('CREATE DATABASE alice OWNER alice');
  cluster = await start(writeConfig(authPort, proxyPort, pg.port));
  await addUser('alice');
  await login('alice');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await pg?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits (bounded) until `tp audit search --type TYPE` shows an event `match` accepts; returns it. */
async function auditEvent(type: string, match: (e: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const out = await tpOk(['audit', 'search', '--type', type, '--format', 'json', ...admin]);
    const hit = (JSON.parse(out) as Record<string, unknown>[]).find(match);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching ${type} event in the audit log: ${out.slice(0, 2000)}`);
    await Bun.sleep(200);
  }
}

describe.skipIf(!!postgresMissing)('PostgreSQL through tp start, the proxy and the agent', () => {
  test('tp db connect pg1 --db-user alice -- -Atc "select current_user" prints alice', async () => {
    const r = await tp(
      ['db', 'connect', 'pg1', '--db-user', 'alice', '--', '-Atc', 'select current_user'],
      as('alice'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice');
    expect(r.code).toBe(0);
    const q = await auditEvent('db.query', (e) => e.statement === 'select current_user');
    expect(q).toMatchObject({ user: 'alice', db_user: 'alice', db_name: 'alice', db_service: 'pg1' });
  });

  test('stock psql through tp proxy db --tunnel; a db user the roles lack is refused with its reason', async () => {
    const port = await freePort();
    const tunnel = await startTpDaemon(
      ['proxy', 'db', 'pg1', '--tunnel', '--port', String(port), '--db-user', 'alice'],
      /Ctrl\+C stops the tunnel/,
      as('alice'),
    );
    try {
      expect(tunnel.banner).toContain(`port=${port}`);
      const conninfo = (user: string) => `host=127.0.0.1 port=${port} user=${user} dbname=postgres sslmode=disable`;
      const ok = await run(['psql', '-X', conninfo('alice'), '-Atc', 'select current_user']);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe('alice');
      const bob = await run(['psql', '-X', conninfo('bob'), '-Atc', 'select current_user']);
      expect(bob.code).not.toBe(0);
      expect(bob.stderr).toContain('database user "bob" is not allowed');
      const refused = await auditEvent('db.session.start', (e) => e.db_user === 'bob');
      expect(refused).toMatchObject({ success: false, user: 'alice' });
    } finally {
      await tunnel.stop();
    }
  });

  /** Starts psql running `select pg_sleep(30)` through `tp db connect` as `user`; resolves once it is audited. */
  async function sleeping(user: string) {
    const since = new Date().toISOString();
    // Its own process group (setsid execs in place), so a test can Ctrl+C it as a terminal does: the whole group.
    const child = Bun.spawn(
      [
        'setsid',
        process.execPath,
        entry,
        'db',
        'connect',
        'pg1',
        '--db-user',
        'alice',
        '--db-name',
        'postgres',
        '--',
        '-Atc',
        'select pg_sleep(30)',
      ],
      { ...as(user), env: { ...process.env, ...as(user).env }, stdout: 'pipe', stderr: 'pipe' },
    );
    const stderr = new Response(child.stderr).text();
    await auditEvent(
      'db.query',
      (e) => e.user === user && e.statement === 'select pg_sleep(30)' && String(e.time) >= since,
    );
    return { child, stderr };
  }

  test('psql Ctrl+C (SIGINT after 1 s of pg_sleep(30)) through tp db connect cancels the query within 3 s', async () => {
    const { child, stderr } = await sleeping('alice');
    await Bun.sleep(1_000); // the scenario: the query has run for a second
    const t0 = Date.now();
    process.kill(-child.pid, 'SIGINT');
    const code = await child.exited;
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await stderr).toContain('canceling statement due to user request');
    expect(code).not.toBe(0);
  });

  test('a lock on the user ends a running pg_sleep(30) with the lock message', async () => {
    await addUser('carol');
    await login('carol');
    const { child, stderr } = await sleeping('carol');
    const t0 = Date.now();
    await tpOk(['locks', 'add', '--user', 'carol', '--message', 'off-boarding', ...admin]);
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('FATAL:  tp: the session was ended');
    expect(await stderr).toContain('off-boarding');
  });

  test('a 5 s certificate ends a running pg_sleep(30) when it expires', async () => {
    await addUser('dave');
    await login('dave', '5s');
    const { child, stderr } = await sleeping('dave');
    const t0 = Date.now();
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('FATAL:  tp: the session was ended: the certificate of user "dave" expired');
  });
});
