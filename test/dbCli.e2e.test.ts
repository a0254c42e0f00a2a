// tp db and tp proxy db end to end: `tp start` (auth + proxy), an agent from tp.yaml serving a real PostgreSQL that
// trusts only the cluster's db_client CA, a user logged in with `tp login`, and stock psql.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { run, tp, tpOk } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type DbCliCluster, startDbCliCluster } from './helpers/dbCliCluster.ts';
import { type MariadbServer, mariadbMissing, startMariadbServer } from './helpers/mariadbServer.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from './helpers/postgresServer.ts';

if (postgresMissing) console.error(`\n!!! tp db e2e tests are SKIPPED: ${postgresMissing}\n`);
if (mariadbMissing) console.error(`\n!!! tp db e2e MariaDB tests are SKIPPED: ${mariadbMissing}\n`);

const ROLE = `kind: role
metadata: {name: dbdev}
spec:
  allow: {db_labels: {env: dev}, db_users: [alice], db_names: [alice, postgres]}
`;

describe.skipIf(!!postgresMissing)(
  'tp db through tp start and an agent from tp.yaml (real PostgreSQL and MariaDB)',
  () => {
    let dir: string;
    let c: DbCliCluster;
    let pg: PostgresServer;
    let maria: MariadbServer | undefined;
    const asAlice = (args: string[]) => tp(args, { env: c.home });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tp-dbcli-'));
      c = await startDbCliCluster(dir, ROLE);
      pg = await startPostgresServer({ users: ['alice', 'bob'], trustClientCas: [c.dbClientCa] });
      await pg.admin('CREATE DATABASE alice OWNER alice');
      if (!mariadbMissing) maria = await startMariadbServer({ users: ['alice'], trustClientCas: [c.dbClientCa] });
      await c.startAgent([
        { name: 'pg1', protocol: 'postgres', uri: `127.0.0.1:${pg.port}`, ca_file: pg.caPath },
        ...(maria
          ? [{ name: 'maria1', protocol: 'mysql', uri: `127.0.0.1:${maria.port}`, ca_file: maria.caPath }]
          : []),
      ]);
      const want = maria ? ['maria1', 'pg1'] : ['pg1'];
      const listed = async () => (await asAlice(['db', 'ls'])).stdout;
      await waitFor(
        `${want.join(', ')} listed online`,
        async () => {
          const out = await listed();
          return want.every((n) => new RegExp(`\\n${n}\\s.*online`).test(out));
        },
        20_000,
      );
    }, 120_000);
    afterAll(async () => {
      await c?.close();
      await maria?.close();
      await pg?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('tp db ls shows the database, its protocol, labels and the db users the roles allow', async () => {
      const text = await asAlice(['db', 'ls']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^NAME\s+PROTOCOL\s+LABELS\s+DB USERS\s+STATUS\n/);
      expect(text.stdout).toMatch(/\npg1\s+postgres\s+env=dev\s+alice\s+online\n/);
      const json = JSON.parse((await asAlice(['db', 'ls', '--format', 'json'])).stdout) as Output<'db ls'>;
      const row = (name: string, protocol: string, plugin: string) => ({
        name,
        protocol,
        plugin,
        labels: { env: 'dev' },
        online: true,
        db_users: ['alice'],
      });
      expect(json).toEqual([
        ...(maria ? [row('maria1', 'mysql', 'db-mysql')] : []),
        row('pg1', 'postgres', 'db-postgres'),
      ]);
    });

    test('tp db connect pg1 --db-user alice -- -Atc "select current_user" prints alice; psql\'s status is tp\'s', async () => {
      const r = await asAlice(['db', 'connect', 'pg1', '--db-user', 'alice', '--', '-Atc', 'select current_user']);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'alice\n', stderr: '' });
      const failing = await asAlice(['db', 'connect', 'pg1', '--db-user', 'alice', '--', '-Atc', 'select 1/0']);
      expect(failing.code).toBe(1);
      expect(failing.stderr).toContain('division by zero');
    });

    test("a db user the roles lack is refused with the agent's message, and tp exits with psql's status", async () => {
      const r = await asAlice(['db', 'connect', 'pg1', '--db-user', 'bob', '--', '-Atc', 'select 1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('database user "bob" is not allowed');
      expect(r.stdout).toBe('');
    });

    test('an unknown database is not found (exit 3) and names what the user may reach', async () => {
      const r = await asAlice(['db', 'connect', 'nope', '--db-user', 'alice']);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        `error: no database "nope" you may reach; your roles let you reach: ${maria ? 'maria1, ' : ''}pg1 (tp db ls lists them)\n`,
      );
    });

    test('tp db login remembers the route; tp db connect uses it', async () => {
      const login = await asAlice(['db', 'login', 'pg1', '--db-user', 'alice', '--db-name', 'postgres']);
      expect(login.code).toBe(0);
      expect(login.stdout).toContain('pg1 (postgres): connecting as alice to database postgres.');
      const r = await asAlice([
        'db',
        'connect',
        'pg1',
        '--',
        '-Atc',
        "select current_user || '@' || current_database()",
      ]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'alice@postgres\n' });
    });

    test('tp proxy db --tunnel: stock psql with the printed string, tp db env for libpq, stopped by SIGTERM', async () => {
      const tunnel = Bun.spawn(
        [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts'), 'proxy', 'db', 'pg1', '--tunnel'],
        { env: { ...process.env, ...c.home, TP_LOG_FORMAT: 'json' }, stdout: 'pipe', stderr: 'pipe' },
      );
      try {
        const out = await readUntil(tunnel.stdout, /Connect with:\n {2}psql '([^']+)'\n/);
        const conninfo = out[1]!;
        expect(conninfo).toMatch(/^host=127\.0\.0\.1 port=\d+ user=alice dbname=postgres sslmode=disable$/);
        const direct = await run(['psql', conninfo, '-Atc', 'select current_user']);
        expect({ stdout: direct.stdout, stderr: direct.stderr }).toEqual({ stdout: 'alice\n', stderr: '' });

        const env = await asAlice(['db', 'env', 'pg1']);
        expect(env.code).toBe(0);
        const port = /port=(\d+)/.exec(conninfo)![1];
        expect(env.stdout).toBe(
          `export PGHOST=127.0.0.1\nexport PGPORT=${port}\nexport PGUSER=alice\nexport PGDATABASE=postgres\nexport PGSSLMODE=disable\n`,
        );
        const vars = Object.fromEntries([...env.stdout.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
        const viaEnv = await run(['psql', '-Atc', 'select current_database()'], { env: vars });
        expect(viaEnv.stdout).toBe('postgres\n');
      } finally {
        tunnel.kill('SIGTERM');
      }
      expect(await tunnel.exited).toBe(0);
      const after = await asAlice(['db', 'env', 'pg1']);
      expect(after.code).toBe(3);
      expect(after.stderr).toContain('no tunnel to pg1 is running: start one with tp proxy db pg1 --tunnel');
    });

    test('the tunnel re-reads the profile per connection: an expired certificate is refused with what to do, a new tp login is picked up', async () => {
      const env = { TP_HOME: join(dir, 'home-short') };
      await c.login(env, '4s');
      const expires = Date.parse(
        (JSON.parse((await tp(['status', '--format', 'json'], { env })).stdout) as Output<'status'>).expires,
      );
      const tunnel = Bun.spawn(
        [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts'), 'proxy', 'db', 'pg1', '--tunnel'],
        { env: { ...process.env, ...env, TP_LOG_FORMAT: 'json' }, stdout: 'pipe', stderr: 'pipe' },
      );
      try {
        const conninfo = (await readUntil(tunnel.stdout, /Connect with:\n {2}psql '([^']+)'\n/))[1]!;
        const psql = () => run(['psql', `${conninfo} dbname=postgres`, '-Atc', 'select current_user']);
        await waitFor('the certificate to expire', () => Date.now() > expires, 10_000);
        const refused = await psql();
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain('FATAL:  tp: your certificate expired at');
        expect(refused.stderr).toContain('run `tp login`');
        await c.login(env);
        expect((await psql()).stdout).toBe('alice\n');
      } finally {
        tunnel.kill('SIGTERM');
      }
      expect(await tunnel.exited).toBe(0);
    });

    test('Ctrl+C at the terminal cancels the running query: tp stays up, the CancelRequest goes through the tunnel', async () => {
      const tpCmd = [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts')];
      const args = ['db', 'connect', 'pg1', '--db-user', 'alice', '--', '-Atc', 'select pg_sleep(30)'];
      const child = Bun.spawn([...tpCmd, ...args], {
        env: { ...process.env, ...c.home, TP_LOG_FORMAT: 'json' },
        stdout: 'pipe',
        stderr: 'pipe',
      });
      try {
        const sleeping = "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)'";
        await waitFor('the query running', async () => (await pg.admin(sleeping)).trim() === '1', 15_000);
        // A terminal's Ctrl+C reaches its whole foreground group: tp and psql alike.
        const psqlPid = Number(
          Bun.spawnSync(['pgrep', '-P', String(child.pid), 'psql'])
            .stdout.toString()
            .trim(),
        );
        expect(psqlPid).toBeGreaterThan(0);
        const t0 = performance.now();
        child.kill('SIGINT');
        process.kill(psqlPid, 'SIGINT');
        const code = await child.exited;
        expect(performance.now() - t0).toBeLessThan(3000);
        expect(code).toBe(1);
        expect(await new Response(child.stderr).text()).toContain('canceling statement due to user request');
      } finally {
        child.kill('SIGKILL');
      }
    });

    /** The agent's refusals of route database `name` in the audit log (auth.attempt, via the node). */
    const agentRefusals = async (name: string) => {
      const out = await tpOk([
        'audit',
        'search',
        '--type',
        'auth.attempt',
        '--format',
        'json',
        '--data-dir',
        c.dataDir,
      ]);
      return (JSON.parse(out) as Record<string, unknown>[]).filter(
        (e) => e.via === 'node' && e.kind === 'db' && String(e.error).includes(`database name "${name}"`),
      );
    };

    test("a database the roles deny, named by the route: the agent's refusal reaches psql as the server's error, and the tunnel says it", async () => {
      const tunnel = Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, '..', 'cmd', 'tp.ts'),
          'proxy',
          'db',
          'pg1',
          '--tunnel',
          '--db-user',
          'alice',
          '--db-name',
          'template1',
        ],
        { env: { ...process.env, ...c.home, TP_LOG_FORMAT: 'json' }, stdout: 'pipe', stderr: 'pipe' },
      );
      const denied = 'database name "template1" is not allowed for user "alice" by roles [dbdev]';
      try {
        const conninfo = (await readUntil(tunnel.stdout, /Connect with:\n {2}psql '([^']+)'\n/))[1]!;
        const r = await run(['psql', conninfo, '-Atc', 'select 1']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`FATAL:  tp: ${denied}; allowed names: alice, postgres`);
        // The agent refused before any protocol byte: the proxy passed its typed error to the tunnel, which says so.
        await readUntil(
          tunnel.stderr,
          new RegExp(`tp: connection from 127\\.0\\.0\\.1:\\d+ to pg1 refused: ${denied.replace(/[[\]]/g, '\\$&')}`),
        );
      } finally {
        tunnel.kill('SIGTERM');
      }
      expect(await tunnel.exited).toBe(0);
      const connect = await asAlice(['db', 'connect', 'pg1', '--db-name', 'template1', '--', '-Atc', 'select 1']);
      expect(connect.code).toBe(2);
      expect(connect.stderr).toContain(`tp: ${denied}`);
      expect((await agentRefusals('template1')).length).toBeGreaterThanOrEqual(2);
    });

    test.skipIf(!!mariadbMissing)(
      "MariaDB: a database the roles deny, named by the route, is the agent's typed refusal as mariadb's error",
      async () => {
        const r = await asAlice([
          'db',
          'connect',
          'maria1',
          '--db-user',
          'alice',
          '--db-name',
          'secret',
          '--',
          '-e',
          'select 1',
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          'ERROR 1045 (28000): tp: database name "secret" is not allowed for user "alice" by roles [dbdev]',
        );
        expect((await agentRefusals('secret')).length).toBeGreaterThanOrEqual(1);
      },
    );

    test.skipIf(!!mariadbMissing)(
      'MariaDB: tp db connect runs mariadb; stock mariadb through the tunnel is alice@%',
      async () => {
        const r = await asAlice([
          'db',
          'connect',
          'maria1',
          '--db-user',
          'alice',
          '--',
          '-N',
          '-e',
          'select current_user()',
        ]);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
          code: 0,
          stdout: 'alice@%\n',
          stderr: '',
        });
        const tunnel = Bun.spawn(
          [
            process.execPath,
            join(import.meta.dir, '..', 'cmd', 'tp.ts'),
            'proxy',
            'db',
            'maria1',
            '--tunnel',
            '--db-user',
            'alice',
          ],
          { env: { ...process.env, ...c.home, TP_LOG_FORMAT: 'json' }, stdout: 'pipe', stderr: 'pipe' },
        );
        try {
          const hint = (await readUntil(tunnel.stdout, /Connect with:\n {2}(mariadb [^\n]+)\n/))[1]!;
          expect(hint).toMatch(/^mariadb -h 127\.0\.0\.1 -P \d+ -u alice --protocol=TCP --skip-ssl$/);
          const stock = await run([...hint.split(' '), '-N', '-e', 'select current_user()']);
          expect({ stdout: stock.stdout, stderr: stock.stderr }).toEqual({ stdout: 'alice@%\n', stderr: '' });
          const env = await asAlice(['db', 'env', 'maria1']);
          expect(env.stdout).toBe(`export MYSQL_HOST=127.0.0.1\nexport MYSQL_TCP_PORT=${/-P (\d+)/.exec(hint)![1]}\n`);
        } finally {
          tunnel.kill('SIGTERM');
        }
        expect(await tunnel.exited).toBe(0);
      },
    );
  },
);

/** Reads a child's stdout until `re` matches what it printed (bounded: 20 s). */
async function readUntil(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<RegExpExecArray> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 20_000;
  try {
    for (;;) {
      const m = re.exec(text);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${re} in: ${text}`);
      const next = await Promise.race([reader.read(), Bun.sleep(left).then(() => undefined)]);
      if (!next) continue;
      if (next.done) throw new Error(`ended before ${re}: ${text}`);
      text += dec.decode(next.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
}
