// PostgreSQL through the whole product: `tp start` with db.databases in tp.yaml (auth, proxy and an agent in one
// process), a real PostgreSQL on the cluster's own PKI (server certificate from `tp ca sign --db`, trusting the
// db_client CA), a user logged in with the real CLI, and stock psql through `tp db connect` and `tp proxy db --tunnel`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { run, tp, tpOk } from './helpers/cli.ts';
import { type PgCluster, startPgCluster } from './helpers/pgCluster.ts';
import { postgresMissing } from './helpers/postgresServer.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon } from './helpers/tpDaemon.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');

if (postgresMissing) console.error(`\n!!! PostgreSQL end-to-end tests are SKIPPED: ${postgresMissing}\n`);

let c: PgCluster;
const as = (user: string) => c.as(user);

beforeAll(async () => {
  if (postgresMissing) return;
  c = await startPgCluster();
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

  test('pgbench -M extended through tp proxy db --tunnel: db.query events carry the statement and its parameters', async () => {
    const port = await freePort();
    const tunnel = await startTpDaemon(
      ['proxy', 'db', 'pg1', '--tunnel', '--port', String(port), '--db-user', 'alice', '--db-name', 'postgres'],
      /Ctrl\+C stops the tunnel/,
      as('alice'),
    );
    try {
      const script = join(c.dir, 'extended.sql');
      await Bun.write(script, "\\set aid random(1, 100000)\nSELECT :aid::int + 1 AS next, 'e2e-' || :aid AS tag;\n");
      const conninfo = `host=127.0.0.1 port=${port} user=alice dbname=postgres sslmode=disable`;
      const r = await run(['pgbench', '-n', '-M', 'extended', '-t', '5', '-f', script, conninfo]);
      expect(r.stderr).not.toContain('error');
      expect(r.code).toBe(0);
    } finally {
      await tunnel.stop();
    }
    const statement = "SELECT $1::int + 1 AS next, 'e2e-' || $2 AS tag;";
    const search = async () =>
      (
        JSON.parse(await tpOk(['audit', 'search', '--type', 'db.query', '--format', 'json', ...c.admin])) as Record<
          string,
          unknown
        >[]
      ).filter((e) => e.statement === statement);
    // Every Execute, each with the values pgbench bound ($1 and $2 are the same :aid, as text).
    let queries = await search();
    for (let i = 0; i < 50 && queries.length < 5; i++) {
      await Bun.sleep(200);
      queries = await search();
    }
    expect(queries).toHaveLength(5);
    for (const q of queries) {
      expect(q).toMatchObject({ user: 'alice', db_user: 'alice', db_name: 'postgres', db_service: 'pg1' });
      const [a, b] = q.parameters as string[];
      expect(a).toMatch(/^\d+$/);
      expect(b).toBe(a);
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
    await c.addUser('carol');
    await c.login('carol');
    const { child, stderr } = await sleeping('carol');
    const t0 = Date.now();
    await tpOk(['locks', 'add', '--user', 'carol', '--message', 'off-boarding', ...c.admin]);
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('FATAL:  tp: the session was ended');
    expect(await stderr).toContain('off-boarding');
    // A new connection is refused with the lock's message, and the refusal audited.
    const again = await tp(['db', 'connect', 'pg1', '--db-user', 'alice', '--', '-Atc', 'select 1'], as('carol'));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('FATAL:  tp: user "carol" is locked');
    expect(again.stderr).toContain('off-boarding');
    const refused = await auditEvent('auth.attempt', (e) => e.user === 'carol' && e.kind === 'db');
    expect(refused).toMatchObject({ success: false, target: 'pg1' });
    expect(String(refused.error)).toContain('off-boarding');
  });

  test('a 5 s certificate ends a running pg_sleep(30) when it expires', async () => {
    await c.addUser('dave');
    await c.login('dave', '5s');
    const { child, stderr } = await sleeping('dave');
    const t0 = Date.now();
    await child.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await stderr).toContain('FATAL:  tp: the session was ended: the certificate of user "dave" expired');
    const end = await auditEvent('db.session.end', (e) => e.user === 'dave');
    expect(String(end.reason)).toContain('the certificate of user "dave" expired');
  });
});
