import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../test/helpers/cli.ts';
import { sampleLiveMemory } from '../../test/helpers/liveMemory.ts';
import { type PgAgentHarness, startPgAgentHarness, until } from '../../test/helpers/pgAgentHarness.ts';
import {
  type PostgresServer,
  postgresMissing,
  psqlConninfo,
  startPostgresServer,
} from '../../test/helpers/postgresServer.ts';

if (postgresMissing) console.error(`\n!!! db-postgres agent tests are SKIPPED: ${postgresMissing}\n`);

describe.skipIf(!!postgresMissing)('db-postgres agent: stock psql through serve()', () => {
  let pg: PostgresServer;
  let h: PgAgentHarness;
  beforeAll(async () => {
    pg = await startPostgresServer({ users: ['alice', 'bob'] });
    h = await startPgAgentHarness(pg);
  }, 30_000);
  const sleepQueried = (since: number) =>
    h.events.slice(since).some((e) => e.type === 'db.query' && e.statement === 'select pg_sleep(30)');
  afterAll(async () => {
    await h?.close();
    await pg?.close();
  });

  test('select current_user prints the database user; the session is audited start, query, end', async () => {
    const before = h.events.length;
    const r = await h.psql('alice', 'postgres', ['-Atc', 'select current_user']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice');
    await until('the session end event', () => h.events.slice(before).some((e) => e.type === 'db.session.end'));
    const mine = h.events.slice(before);
    expect(mine.map((e) => e.type)).toEqual(['db.session.start', 'db.query', 'db.session.end']);
    expect(mine[0]).toMatchObject({
      success: true,
      user: 'alice@example.com',
      db_user: 'alice',
      db_name: 'postgres',
      db_service: 'pg1',
      server_id: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a01',
    });
    expect(mine[1]).toMatchObject({ statement: 'select current_user', db_user: 'alice' });
    expect(mine[0]!.session_id).toBe(mine[1]!.session_id);
  });

  test('a db user the roles lack is refused with a clear message, and audited', async () => {
    const before = h.events.length;
    const r = await h.psql('bob', 'postgres', ['-Atc', 'select current_user']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  tp: access to database "pg1" denied: database user "bob" is not allowed');
    expect(r.stderr).toContain('allowed users: alice');
    await until('the refusal event', () => h.events.length > before);
    expect(h.events.slice(before)).toEqual([
      expect.objectContaining({
        type: 'db.session.start',
        success: false,
        db_user: 'bob',
        error: expect.stringContaining('database user "bob" is not allowed'),
      }),
    ]);
  });

  test('a denied database is refused, also when psql switches to it with \\c', async () => {
    const direct = await h.psql('alice', 'template1', ['-Atc', 'select 1']);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toContain('tp: access to database "pg1" denied: database name "template1" is not allowed');
    const before = h.events.length;
    const r = await h.psql('alice', 'postgres', ['-At'], {
      stdin: 'select current_user;\n\\c template1\nselect current_database();\n',
    });
    expect(r.stdout.split('\n')[0]).toBe('alice');
    expect(r.stderr).toContain('FATAL:  tp: access to database "pg1" denied: database name "template1"');
    // A script stops at a failed \c (psql keeps the old connection only when interactive).
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('postgres');
    await until(
      'two session starts',
      () => h.events.slice(before).filter((e) => e.type === 'db.session.start').length === 2,
    );
    const starts = h.events.slice(before).filter((e) => e.type === 'db.session.start');
    expect(starts.map((e) => [e.success, e.db_name])).toEqual([
      [true, 'postgres'],
      [false, 'template1'],
    ]);
  });

  test('an empty database name means the user name (alice), which the traits do not allow', async () => {
    const r = await h.psql('alice', "''", ['-Atc', 'select 1']);
    expect(r.stderr).toContain('database name "alice" is not allowed');
  });

  test('aborting the session signal ends a running pg_sleep(30) with a FATAL and cancels it on the server', async () => {
    const before = h.sessions.length;
    const t0 = Date.now();
    const running = h.psql('alice', 'postgres', ['-Atc', 'select pg_sleep(30)']);
    await until('the pg_sleep query', () =>
      h.events.some(
        (e) => e.type === 'db.query' && e.statement === 'select pg_sleep(30)' && h.sessions.length > before,
      ),
    );
    h.sessions[before]!.abort.abort(new Error('the user certificate expired'));
    const r = await running;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  tp: the session was ended: the user certificate expired');
    const sleeping = async () =>
      Number(await pg.admin("select count(*) from pg_stat_activity where query = 'select pg_sleep(30)'"));
    const deadline = Date.now() + 5_000;
    while ((await sleeping()) > 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(await sleeping()).toBe(0);
    const end = h.events.find((e) => e.type === 'db.session.end' && e.session_id === h.sessions[before]!.session.id);
    expect(end?.reason).toContain('the user certificate expired');
  });

  test('SIGINT to psql after 1 s of pg_sleep(30) cancels the query within 3 s (CancelRequest on a new stream)', async () => {
    const child = Bun.spawn(['psql', '-X', h.conninfo('alice', 'postgres'), '-Atc', 'select pg_sleep(30)'], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const stderr = new Response(child.stderr).text();
    const seen = h.events.length;
    await until('the pg_sleep query', () => sleepQueried(seen));
    await Bun.sleep(1_000); // the scenario: the query has been running a second
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await child.exited;
    const ms = Date.now() - t0;
    expect(await stderr).toContain('canceling statement due to user request');
    expect(code).not.toBe(0);
    expect(ms).toBeLessThan(3_000);
  });

  test('pgbench -M extended: each Execute is a db.query event with its statement and bound parameters', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'tp-pgbench-')), 'bench.sql');
    writeFileSync(script, "\\set aid random(1, 100000)\nSELECT :aid::int + 1 AS next, 'tag-' || :aid AS tag;\n");
    const seen = h.events.length;
    const r = await run(['pgbench', '-n', '-M', 'extended', '-t', '3', '-f', script, h.conninfo('alice', 'postgres')]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    await until('the session end', () => h.events.slice(seen).some((e) => e.type === 'db.session.end'));
    const queries = h.events.slice(seen).filter((e) => e.type === 'db.query' && String(e.statement).includes('tag-'));
    expect(queries).toHaveLength(3);
    for (const q of queries) {
      expect(q.statement).toBe("SELECT $1::int + 1 AS next, 'tag-' || $2 AS tag;");
      const [a, b] = q.parameters as string[];
      expect(a).toMatch(/^\d+$/);
      expect(b).toBe(a);
      expect(q.truncated).toBeUndefined();
    }
  });

  test('a 200 MB COPY ... TO STDOUT arrives byte-identical, and the agent live memory grows by less than 64 MB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-pgcopy-'));
    const sql = 'copy (select repeat(md5(i::text), 6) from generate_series(1, 1050000) i) to stdout';
    const copy = async (conninfo: string, out: string) => {
      const p = Bun.spawn(['psql', '-X', conninfo, '-c', sql], { stdout: Bun.file(out), stderr: 'pipe' });
      const err = await new Response(p.stderr).text();
      expect(await p.exited, err).toBe(0);
    };
    const cert = await pg.clientCert('alice');
    const t0 = performance.now();
    await copy(psqlConninfo(pg, 'alice', cert), join(dir, 'direct.out'));
    const directMs = performance.now() - t0;
    const memory = sampleLiveMemory();
    const t1 = performance.now();
    await copy(h.conninfo('alice', 'postgres'), join(dir, 'tp.out'));
    const tpMs = performance.now() - t1;
    const growth = memory.stop();
    const size = statSync(join(dir, 'tp.out')).size;
    console.error(
      `COPY ${(size / 1e6).toFixed(0)} MB: direct ${directMs.toFixed(0)} ms, through the agent ${tpMs.toFixed(0)} ms, ` +
        `live memory growth ${(growth / 1e6).toFixed(1)} MB`,
    );
    expect(size).toBeGreaterThan(200_000_000);
    const digest = async (f: string) => {
      const hash = new Bun.CryptoHasher('sha256');
      for await (const chunk of Bun.file(f).stream()) hash.update(chunk);
      return hash.digest('hex');
    };
    expect(await digest(join(dir, 'tp.out'))).toBe(await digest(join(dir, 'direct.out')));
    // A buffered result would hold the copy's size (200 MB) live; the relay holds socket buffers only.
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    rmSync(dir, { recursive: true, force: true });
  });
});
