// tp bot start --db (issue 22): a bot's output directory gains DIR/db/NAME/ for one database, and a CI step reaches
// it with stock psql through a tunnel carrying the bot's identity, with no tp login and no profile.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, tp, tpOk } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type DbCliCluster, startDbCliCluster } from './helpers/dbCliCluster.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from './helpers/postgresServer.ts';

if (postgresMissing) console.error(`\n!!! tp bot start --db tests are SKIPPED: ${postgresMissing}\n`);

const ROLE = `kind: role
metadata: {name: dbdev}
spec:
  allow: {db_labels: {env: dev}, db_users: [alice], db_names: [alice, postgres]}
`;

describe.skipIf(!!postgresMissing)('tp bot start --db: outputs a CI step uses with stock psql', () => {
  let dir: string;
  let c: DbCliCluster;
  let pg: PostgresServer;
  let join_: { token: string; ca_pin: string };
  const admin = (args: string[]) => tpOk([...args, '--data-dir', c.dataDir]);
  const newToken = async () =>
    JSON.parse(await admin(['bots', 'token', 'ci', '--format', 'json'])) as { token: string; ca_pin: string };
  const botStart = (out: string, t: { token: string; ca_pin: string }, extra: string[]) =>
    tp(
      ['bot', 'start', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--out', out, '--oneshot'].concat(
        extra,
      ),
      { env: { TP_HOME: join(dir, 'bot-home') } },
    );
  // A CI step's shell: no profile (an empty TP_HOME), no TP_IDENTITY; the scripts name the identity file.
  const step = (cmd: string[]) => run(cmd, { env: { TP_HOME: join(dir, 'step-home'), TP_IDENTITY: '' } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-botdb-'));
    c = await startDbCliCluster(dir, ROLE);
    pg = await startPostgresServer({ users: ['alice', 'bob'], trustClientCas: [c.dbClientCa] });
    await c.startAgent([{ name: 'pg1', protocol: 'postgres', uri: `127.0.0.1:${pg.port}`, ca_file: pg.caPath }]);
    await waitFor(
      'pg1 online',
      async () => /\npg1\s.*online/.test((await tp(['db', 'ls'], { env: c.home })).stdout),
      20_000,
    );
    join_ = JSON.parse(await admin(['bots', 'add', 'ci', '--roles', 'dbdev', '--format', 'json'])) as {
      token: string;
      ca_pin: string;
    };
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    await pg?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('DIR/db/pg1/ holds a README and two scripts (0600, no key); connect.sh runs psql as the db user', async () => {
    const out = join(dir, 'out');
    const r = await botStart(out, join_, ['--db', 'pg1', '--db-user', 'alice', '--db-name', 'postgres']);
    expect(r.stderr).toContain(`database pg1: see ${join(out, 'db', 'pg1')}/README`);
    expect(r.code).toBe(0);
    const db = join(out, 'db', 'pg1');
    expect(readdirSync(db).sort()).toEqual(['README', 'connect.sh', 'tunnel.sh']);
    expect(statSync(db).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(db)) expect(statSync(join(db, f)).mode & 0o777).toBe(0o600);
    const readme = readFileSync(join(db, 'README'), 'utf8');
    expect(readme).toContain('Database pg1 (postgres) as database user alice, database postgres');
    expect(readme).toContain("psql 'host=127.0.0.1 port=5544 user=alice dbname=postgres sslmode=disable'");
    expect(readme).toContain("export PGUSER='alice'");
    for (const f of readdirSync(db)) expect(readFileSync(join(db, f), 'utf8')).not.toContain('PRIVATE KEY');

    const who = await step(['sh', join(db, 'connect.sh'), '-Atc', 'select current_user, current_database()']);
    expect(who.stderr).toBe('');
    expect(who.stdout.trim()).toBe('alice|postgres');
    expect(who.code).toBe(0);
    // The client's exit status is the step's.
    const failing = await step(['sh', join(db, 'connect.sh'), '-v', 'ON_ERROR_STOP=1', '-Atc', 'select 1/0']);
    expect(failing.stderr).toContain('division by zero');
    expect(failing.code).toBe(1);
  }, 60_000);

  test('tunnel.sh serves the database on the port given, for stock psql', async () => {
    const db = join(dir, 'out', 'db', 'pg1');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const tunnel = Bun.spawn(['sh', join(db, 'tunnel.sh'), String(port)], {
      env: { ...process.env, TP_HOME: join(dir, 'step-home'), TP_IDENTITY: '' },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    try {
      const reader = tunnel.stdout.getReader();
      let banner = '';
      const deadline = Date.now() + 20_000;
      while (!banner.includes('Ctrl+C stops the tunnel') && Date.now() < deadline) {
        const next = await reader.read();
        if (next.done) break;
        banner += new TextDecoder().decode(next.value);
      }
      expect(banner).toContain(`127.0.0.1:${port}`);
      const r = await run([
        'psql',
        '-X',
        `host=127.0.0.1 port=${port} user=alice dbname=postgres sslmode=disable`,
        '-Atc',
        'select current_user',
      ]);
      expect(r.stdout.trim()).toBe('alice');
    } finally {
      tunnel.kill('SIGTERM');
      await tunnel.exited;
    }
  }, 60_000);

  test('a database or db user the roles do not reach fails the bot start, naming what is allowed', async () => {
    const unknown = await botStart(join(dir, 'out2'), await newToken(), ['--db', 'pg9', '--db-user', 'alice']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no database "pg9" you may reach; your roles let you reach: pg1');
    const user = await botStart(join(dir, 'out3'), await newToken(), ['--db', 'pg1', '--db-user', 'bob']);
    expect(user.code).not.toBe(0);
    expect(user.stderr).toContain(`the bot's roles do not allow database user "bob" on pg1 (allowed: alice)`);
  }, 60_000);
});
