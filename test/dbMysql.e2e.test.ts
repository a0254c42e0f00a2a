// MySQL/MariaDB through the whole product: `tp start` with db.databases in tp.yaml (auth, proxy and an agent in one
// process), a real MariaDB on the cluster's own PKI (server certificate from `tp ca sign --db`, REQUIRE SUBJECT users
// trusting the db_client CA), users logged in with the real CLI, and the stock mariadb client through `tp db connect`
// and `tp proxy db --tunnel`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, tp, tpOk } from './helpers/cli.ts';
import { clusterDbPki, type DbServerPki } from './helpers/dbPki.ts';
import { MARIADB, type MariadbServer, mariadbMissing, startMariadbServer } from './helpers/mariadbServer.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');

if (mariadbMissing) console.error(`\n!!! MariaDB end-to-end tests are SKIPPED: ${mariadbMissing}\n`);

const dir = mkdtempSync(join(tmpdir(), 'tp-maria-e2e-'));
const dataDir = join(dir, 'data');
const admin = ['--data-dir', dataDir];
let maria: MariadbServer<DbServerPki>;
let cluster: TpDaemon | undefined;
let proxyAddr = '';

/** tp.yaml for the all-in-one cluster; with `port`, the agent serves that MariaDB as maria1. */
function writeConfig(authPort: number, proxyPort: number, port?: number): string {
  const path = join(dir, 'tp.yaml');
  const db = port
    ? `db:\n  enabled: true\n  databases:\n    - {name: maria1, protocol: mysql, uri: "127.0.0.1:${port}", labels: {env: dev}}\n`
    : '';
  writeFileSync(
    path,
    `cluster_name: maria.e2e\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
      `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:0}\nssh: {name: db-host}\n${db}`,
  );
  return path;
}

const PASSWORD = 'correct horse battery staple';
const as = (user: string) => ({ env: { TP_HOME: join(dir, `home-${user}`) } });

/** Adds a user who may be db user alice in database app (the preset access role expands the traits). */
async function addUser(name: string): Promise<void> {
  const traits = ['--db-users', 'alice', '--db-names', 'app'];
  await tpOk(['users', 'add', name, '--roles', 'access', ...traits, '--password-stdin', ...admin], { stdin: PASSWORD });
}

async function login(name: string, ttl?: string): Promise<void> {
  mkdirSync(as(name).env.TP_HOME, { recursive: true });
  const args = ['login', '--proxy', proxyAddr, '--user', name, '--password-stdin', '--insecure'];
  await tpOk([...args, ...(ttl ? ['--ttl', ttl] : [])], { ...as(name), stdin: PASSWORD });
}

const start = (config: string) => startTpDaemon(['start', '--config', config, ...admin], /og in and connect/);

beforeAll(async () => {
  if (mariadbMissing) return;
  const [authPort, proxyPort] = [await freePort(), await freePort()];
  proxyAddr = `127.0.0.1:${proxyPort}`;
  // The cluster's first start makes its CAs; MariaDB is set up with them, then the cluster restarts serving it.
  cluster = await start(writeConfig(authPort, proxyPort));
  const signedDir = join(dir, 'signed');
  await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, ...admin]);
  const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', ...admin]);
  await cluster.stop();
  maria = await startMariadbServer({
    users: ['alice', 'bob'],
    pki: clusterDbPki({
      signedDir,
      dbCaPem,
      clientCert: () => Promise.reject(new Error('the test makes no client certificates of its own')),
    }),
  });
  await maria.admin('CREATE DATABASE app; CREATE DATABASE secret');
  cluster = await start(writeConfig(authPort, proxyPort, maria.port));
  await addUser('alice');
  await login('alice');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await maria?.close();
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

/** Polls MariaDB (as root) until no thread runs `sql`; false after `ms`. */
async function threadGone(sql: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await maria.admin(`select count(*) from information_schema.processlist where info = '${sql}'`)) === '0')
      return true;
    await Bun.sleep(100);
  }
  return false;
}

describe.skipIf(!!mariadbMissing)('MariaDB through tp start, the proxy and the agent', () => {
  test('tp db connect maria1 --db-user alice -- -e "select current_user()" prints alice@%', async () => {
    const r = await tp(
      ['db', 'connect', 'maria1', '--db-user', 'alice', '--', '-N', '-e', 'select current_user()'],
      as('alice'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice@%');
    expect(r.code).toBe(0);
    const q = await auditEvent('db.query', (e) => e.statement === 'select current_user()');
    expect(q).toMatchObject({ user: 'alice', db_user: 'alice', db_service: 'maria1', db_protocol: 'mysql' });
  });

  test('stock mariadb through tp proxy db --tunnel; a db user and a database the roles lack are refused', async () => {
    const port = await freePort();
    const tunnel = await startTpDaemon(
      ['proxy', 'db', 'maria1', '--tunnel', '--port', String(port), '--db-user', 'alice'],
      /Ctrl\+C stops the tunnel/,
      as('alice'),
    );
    const mariadb = (user: string, ...args: string[]) =>
      run([MARIADB.client!, '--no-defaults', '--skip-ssl', '-h', '127.0.0.1', '-P', String(port), '-u', user, ...args]);
    try {
      const ok = await mariadb('alice', '-N', '-e', 'select current_user()');
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe('alice@%');

      const bob = await mariadb('bob', '-e', 'select 1');
      expect(bob.code).not.toBe(0);
      expect(bob.stderr).toContain('ERROR 1045 (28000): tp: database user "bob" is not allowed');
      expect(await auditEvent('db.session.start', (e) => e.db_user === 'bob')).toMatchObject({
        success: false,
        user: 'alice',
      });

      const use = await mariadb('alice', '-N', '-D', 'app', '-e', 'select database(); use secret; select 2');
      expect(use.stdout.trim()).toBe('app');
      expect(use.stderr).toContain('ERROR 1044 (42000) at line 1: tp: database name "secret" is not allowed');
      const refused = await auditEvent('db.query', (e) => e.statement === 'USE `secret`');
      expect(refused).toMatchObject({ success: false, command: 'COM_INIT_DB', db_name: 'app', user: 'alice' });
    } finally {
      await tunnel.stop();
    }
  });

  /** Starts `select sleep(30)` through `tp db connect` as `user`; resolves once it is audited. */
  async function sleeping(user: string) {
    const since = new Date().toISOString();
    const child = Bun.spawn(
      [process.execPath, entry, 'db', 'connect', 'maria1', '--db-user', 'alice', '--', '-e', 'select sleep(30)'],
      { env: { ...process.env, ...as(user).env }, stdout: 'pipe', stderr: 'pipe' },
    );
    const stderr = new Response(child.stderr).text();
    await auditEvent(
      'db.query',
      (e) => e.user === user && e.statement === 'select sleep(30)' && String(e.time) >= since,
    );
    return { child, stderr };
  }

  test('a lock on the user ends a running sleep(30) with the lock message, and stops it on the server', async () => {
    await addUser('carol');
    await login('carol');
    const { child, stderr } = await sleeping('carol');
    const t0 = Date.now();
    await tpOk(['locks', 'add', '--user', 'carol', '--message', 'off-boarding', ...admin]);
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('ERROR 1927 (70100) at line 1: tp: the session was ended');
    expect(await stderr).toContain('off-boarding');
    expect(await threadGone('select sleep(30)', 5_000)).toBe(true);
    const end = await auditEvent('db.session.end', (e) => e.user === 'carol');
    expect(String(end.reason)).toContain('off-boarding');
  });

  test('a 5 s certificate ends a running sleep(30) when it expires', async () => {
    await addUser('dave');
    await login('dave', '5s');
    const { child, stderr } = await sleeping('dave');
    const t0 = Date.now();
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('tp: the session was ended: the certificate of user "dave" expired');
  });
});
