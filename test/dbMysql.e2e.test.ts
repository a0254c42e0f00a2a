// MySQL/MariaDB through the whole product: `tp start` with db.databases in tp.yaml (auth, proxy and an agent in one
// process), a real MariaDB on the cluster's own PKI (server certificate from `tp ca sign --db`, REQUIRE SUBJECT users
// trusting the db_client CA), users logged in with the real CLI, and the stock mariadb client through `tp db connect`
// and `tp proxy db --tunnel`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { run, tp, tpOk } from './helpers/cli.ts';
import { type MariaCluster, startMariaCluster } from './helpers/mariaCluster.ts';
import { MARIADB, mariadbMissing } from './helpers/mariadbServer.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon } from './helpers/tpDaemon.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');

if (mariadbMissing) console.error(`\n!!! MariaDB end-to-end tests are SKIPPED: ${mariadbMissing}\n`);

let c: MariaCluster;
const as = (user: string) => c.as(user);

beforeAll(async () => {
  if (mariadbMissing) return;
  c = await startMariaCluster();
  await c.addUser('alice');
  await c.login('alice');
}, 120_000);

afterAll(() => c?.close());

/** Waits (bounded) until `tp audit search --type TYPE` shows an event `match` accepts; returns it. */
async function auditEvent(type: string, match: (e: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const out = await tpOk(['audit', 'search', '--type', type, '--format', 'json', ...c.admin]);
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
    if ((await c.maria.admin(`select count(*) from information_schema.processlist where info = '${sql}'`)) === '0')
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
    await c.addUser('carol');
    await c.login('carol');
    const { child, stderr } = await sleeping('carol');
    const t0 = Date.now();
    await tpOk(['locks', 'add', '--user', 'carol', '--message', 'off-boarding', ...c.admin]);
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('ERROR 1927 (70100) at line 1: tp: the session was ended');
    expect(await stderr).toContain('off-boarding');
    expect(await threadGone('select sleep(30)', 5_000)).toBe(true);
    const end = await auditEvent('db.session.end', (e) => e.user === 'carol');
    expect(String(end.reason)).toContain('off-boarding');
    // A new connection is refused with the lock's message, and the refusal audited.
    const again = await tp(['db', 'connect', 'maria1', '--db-user', 'alice', '--', '-e', 'select 1'], as('carol'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ERROR 1045 (28000): tp: user "carol" is locked');
    expect(again.stderr).toContain('off-boarding');
    const refused = await auditEvent('auth.attempt', (e) => e.user === 'carol' && e.kind === 'db');
    expect(refused).toMatchObject({ success: false, target: 'maria1' });
  });

  test('a 5 s certificate ends a running sleep(30) when it expires', async () => {
    await c.addUser('dave');
    await c.login('dave', '5s');
    const { child, stderr } = await sleeping('dave');
    const t0 = Date.now();
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('tp: the session was ended: the certificate of user "dave" expired');
    const end = await auditEvent('db.session.end', (e) => e.user === 'dave');
    expect(String(end.reason)).toContain('the certificate of user "dave" expired');
  });
});
