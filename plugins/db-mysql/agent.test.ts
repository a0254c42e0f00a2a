import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SQL } from 'bun';
import { Unavailable } from '../../core/errors.ts';
import { sampleLiveMemory } from '../../test/helpers/liveMemory.ts';
import {
  MARIADB,
  type MariadbServer,
  mariadbMissing,
  mariadbTlsArgs,
  startMariadbServer,
} from '../../test/helpers/mariadbServer.ts';
import {
  dbRole,
  type MysqlAgentHarness,
  runMariadb,
  startMysqlAgentHarness,
  until,
} from '../../test/helpers/mysqlAgentHarness.ts';
import { rawMysqlLogin } from '../../test/helpers/mysqlRawClient.ts';
import { COM, parseErr } from './wire.ts';

if (mariadbMissing) console.warn(`skipping db-mysql agent tests: ${mariadbMissing}`);

const dev = dbRole({
  metadata: { name: 'dev' },
  spec: { allow: { db_labels: { env: 'dev' }, db_users: ['alice'], db_names: ['app', 'mysql'] } },
});

describe.skipIf(mariadbMissing !== undefined)('db-mysql agent with a real MariaDB and the stock client', () => {
  let maria: MariadbServer;
  let h: MysqlAgentHarness;
  beforeAll(async () => {
    maria = await startMariadbServer({ users: ['alice', 'bob'] });
    await maria.admin('CREATE DATABASE app; CREATE DATABASE secret');
    h = await startMysqlAgentHarness({ maria, roles: [dev], user: { name: 'ann', roles: ['dev'], traits: {} } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await maria?.close();
  });

  test('logs in with a certificate made for the db user and runs a query', async () => {
    const r = await runMariadb(h.port, ['-u', 'alice', '-e', 'select current_user()']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('alice@%');
    expect(r.code).toBe(0);
    expect(h.certRequests).toContain('alice');
    await until('the session end event', () => h.events.some((e) => e.type === 'db.session.end'));
    const start = h.events.find((e) => e.type === 'db.session.start');
    expect(start).toMatchObject({ success: true, user: 'ann', db_user: 'alice', db_service: 'maria1' });
    const q = h.events.find((e) => e.type === 'db.query' && e.statement === 'select current_user()');
    expect(q).toMatchObject({ success: true, command: 'COM_QUERY', db_user: 'alice' });
  });

  const eventsOf = (type: string, since: number) => h.events.slice(since).filter((e) => e.type === type);

  test('a database user the roles lack is refused with the reason, and audited', async () => {
    const mark = await h.mark();
    const r = await runMariadb(h.port, ['-u', 'bob', '-e', 'select 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR 1045 (28000)');
    expect(r.stderr).toContain('tp: database user "bob" is not allowed by roles [dev]; allowed users: alice');
    await until('the refusal event', () => eventsOf('db.session.start', mark).length > 0);
    expect(eventsOf('db.session.start', mark)[0]).toMatchObject({ success: false, db_user: 'bob' });
    expect(String(eventsOf('db.session.start', mark)[0]?.error)).toContain('"bob" is not allowed');
    expect(h.certRequests).not.toContain('bob');
  });

  test("auth unreachable for the database certificate: the client prints tp's reason, not a malformed packet", async () => {
    const away = await startMysqlAgentHarness({
      maria,
      roles: [dev],
      user: { name: 'ann', roles: ['dev'], traits: {} },
      call: async () => {
        throw new Unavailable('auth is not reachable');
      },
    });
    try {
      const r = await runMariadb(away.port, ['-u', 'alice', '-e', 'select 1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'ERROR 1105 (HY000): tp: could not get a database certificate for "alice": auth is not reachable',
      );
    } finally {
      await away.close();
    }
  });

  test('a denied database is refused at connect and through USE, and audited', async () => {
    const mark = await h.mark();
    const atConnect = await runMariadb(h.port, ['-u', 'alice', '-D', 'secret', '-e', 'select 1']);
    expect(atConnect.code).toBe(1);
    expect(atConnect.stderr).toContain('ERROR 1044 (42000)');
    expect(atConnect.stderr).toContain('database name "secret" is not allowed for user "alice"');

    const viaUse = await runMariadb(h.port, [
      '-u',
      'alice',
      '-D',
      'app',
      '-e',
      'select database(); use secret; select 2',
    ]);
    expect(viaUse.stdout).toBe('app');
    expect(viaUse.stderr).toContain('ERROR 1044 (42000)');
    expect(viaUse.stderr).toContain('database name "secret" is not allowed');
    await until('the USE refusal', () => eventsOf('db.query', mark).some((e) => e.command === 'COM_INIT_DB'));
    const refused = eventsOf('db.query', mark).find((e) => e.command === 'COM_INIT_DB');
    expect(refused).toMatchObject({ success: false, statement: 'USE `secret`', db_name: 'app' });
    expect(eventsOf('db.query', mark).some((e) => e.statement === 'select 2')).toBe(false);

    const allowed = await runMariadb(h.port, ['-u', 'alice', '-e', 'use app; select database()']);
    expect(allowed.stdout).toBe('app');
  });

  test('USE inside a query text is checked like COM_INIT_DB', async () => {
    const c = await rawMysqlLogin(h.port, 'alice', { database: 'app' });
    c.command(Buffer.from([COM.QUERY, ...Buffer.from('/* hi */ USE `secret`')]));
    const answer = parseErr((await c.read()).payload);
    expect(answer).toMatchObject({ code: 1044, sqlState: '42000' });
    expect(answer?.message).toContain('database name "secret" is not allowed');
    c.command(Buffer.from([COM.QUERY, ...Buffer.from('select database()')]));
    // The session goes on, still in `app`: column count, column, EOF, row ...
    const packets = [await c.read(), await c.read(), await c.read(), await c.read()];
    expect(packets.some((p) => p.payload.includes(Buffer.from('app')))).toBe(true);
    c.close();
  });

  test('COM_CHANGE_USER is refused and ends the session', async () => {
    const mark = await h.mark();
    const c = await rawMysqlLogin(h.port, 'alice');
    c.command(Buffer.from([COM.CHANGE_USER, ...Buffer.from('alice\0'), 0, 0]));
    const answer = parseErr((await c.read()).payload);
    expect(answer).toMatchObject({ code: 1045, sqlState: '28000' });
    expect(answer?.message).toContain('changing the database user inside a session is not allowed');
    await c.closed;
    await until('the session end', () => eventsOf('db.session.end', mark).length > 0);
    expect(eventsOf('db.query', mark)[0]).toMatchObject({ command: 'COM_CHANGE_USER', success: false });
  });

  test('aborting the session signal ends a running select sleep(30)', async () => {
    const mark = await h.mark();
    const started = Date.now();
    const run = runMariadb(h.port, ['-u', 'alice', '-e', 'select sleep(30)']);
    await until('the sleep query', () => eventsOf('db.query', mark).some((e) => e.statement === 'select sleep(30)'));
    const session = h.sessions.at(-1)!;
    session.abort(new Error('the user certificate expired'));
    const r = await run;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ERROR 1927 (70100) at line 1: tp: the session was ended: the user certificate expired');
    await until('the session end', () => eventsOf('db.session.end', mark).length > 0);
    expect(eventsOf('db.session.end', mark)[0]?.reason).toBe('the session was ended: the user certificate expired');
    // The statement stops on the server too, not only the connection (the side connection ran KILL before the end).
    expect(
      await maria.admin("select count(*) from information_schema.processlist where info = 'select sleep(30)'"),
    ).toBe('0');
  });

  test('prepared statements are audited with their parameters', async () => {
    const mark = await h.mark();
    const sql = new SQL({
      adapter: 'mysql',
      hostname: '127.0.0.1',
      port: h.port,
      username: 'alice',
      database: 'app',
      tls: false,
    });
    try {
      const rows = await sql`select ${41} + 1 as answer, ${"o'brien"} as name, ${null} as nothing`;
      expect(rows[0]).toMatchObject({ answer: 42, name: "o'brien", nothing: null });
    } finally {
      await sql.close();
    }
    await until('the execute event', () => eventsOf('db.query', mark).some((e) => e.command === 'COM_STMT_EXECUTE'));
    // Bun.SQL writes each placeholder as "? " (two spaces before the next token); compare with spaces collapsed.
    const text = (e: Record<string, unknown> | undefined) => String(e?.statement).replace(/\s+/g, ' ');
    const prepare = eventsOf('db.query', mark).find((e) => e.command === 'COM_STMT_PREPARE');
    expect(text(prepare)).toBe('select ? + 1 as answer, ? as name, ? as nothing');
    const execute = eventsOf('db.query', mark).find((e) => e.command === 'COM_STMT_EXECUTE');
    expect(text(execute)).toBe(text(prepare));
    expect(execute).toMatchObject({
      success: true,
      parameters: ['41', "o'brien", null],
      db_name: 'app',
    });
  });

  test('a 200 MB result streams through byte-identical, with the agent holding little of it', async () => {
    const sql = 'select repeat(char(65 + seq % 26), 100000) from app.seq_1_to_2000';
    const hashOf = async (args: string[]) => {
      const started = performance.now();
      const p = Bun.spawn([MARIADB.client!, ...args, '-N', '-B', '-e', sql], {
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const hash = new Bun.CryptoHasher('sha256');
      let bytes = 0;
      for await (const chunk of p.stdout) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      const code = await p.exited;
      const stderr = await new Response(p.stderr).text();
      if (code !== 0) throw new Error(`mariadb exited ${code}: ${stderr}`);
      return { hash: hash.digest('hex'), bytes, ms: performance.now() - started };
    };
    const cert = await maria.clientCert('alice');
    const direct = await hashOf(mariadbTlsArgs(maria, 'alice', cert));
    const memory = sampleLiveMemory();
    const viaTp = await hashOf(['--no-defaults', '--skip-ssl', '-h', '127.0.0.1', '-P', String(h.port), '-u', 'alice']);
    const growth = memory.stop();
    expect(direct.bytes).toBeGreaterThan(200_000_000);
    expect(viaTp).toMatchObject({ hash: direct.hash, bytes: direct.bytes });
    // The relay forwards chunks as they come; a buffered result would hold the result's size (200 MB) live.
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    console.log(
      `200 MB result: direct ${direct.ms.toFixed(0)} ms, through the agent ${viaTp.ms.toFixed(0)} ms ` +
        `(${(direct.ms / viaTp.ms).toFixed(2)}x direct); agent live memory growth ${(growth / 1048576).toFixed(1)} MiB`,
    );
  }, 60_000);
});
