// Attacks on the PostgreSQL plugin's agent side, over raw sockets: a StartupMessage naming a database user the roles
// lack after the proxy's gate said yes to another, oversized, truncated and malformed packets, and a cancel key
// used by someone else. Each must be refused with a clear ErrorResponse, without buffering what a header announces.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type BackendMessage, cancelRequest, query, SQLSTATE, startupMessage } from '../../plugins/db-postgres/wire.ts';
import { type PgAgentHarness, startPgAgentHarness, until } from '../helpers/pgAgentHarness.ts';
import { pgWireClient } from '../helpers/pgWireClient.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from '../helpers/postgresServer.ts';

if (postgresMissing) console.error(`\n!!! db-postgres security tests are SKIPPED: ${postgresMissing}\n`);

const startup = (user: string, database = 'postgres') => startupMessage({ user, database });
const fields = (m: BackendMessage) => (m.type === 'ErrorResponse' ? m.fields : {});

describe.skipIf(!!postgresMissing)('db-postgres agent under attack', () => {
  let pg: PostgresServer;
  let h: PgAgentHarness;
  beforeAll(async () => {
    pg = await startPostgresServer({ users: ['alice', 'bob'] });
    // The proxy's gate approved db user alice: the route says so. The StartupMessage is what reaches the server.
    h = await startPgAgentHarness(pg, { route: { db_user: 'alice', db_name: 'postgres' } });
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await pg?.close();
  });

  test('a StartupMessage naming a db user the roles lack is refused (28000) and never reaches the server', async () => {
    const seen = h.events.length;
    const c = await pgWireClient(h.port);
    c.send(startup('bob'));
    const err = fields(await c.next('ErrorResponse'));
    expect(err.C).toBe(SQLSTATE.invalidAuthorization);
    expect(err.S).toBe('FATAL');
    expect(err.M).toContain('database user "bob" is not allowed');
    await c.closed;
    expect(c.messages.some((m) => m.type === 'Authentication')).toBe(false);
    expect(pg.log()).not.toContain('user=bob');
    await until('the refusal event', () => h.events.length > seen);
    expect(h.events.slice(seen)).toEqual([
      expect.objectContaining({ type: 'db.session.start', success: false, db_user: 'bob' }),
    ]);
  });

  test('a denied database in the StartupMessage is refused with 42501', async () => {
    const c = await pgWireClient(h.port);
    c.send(startup('alice', 'template1'));
    const err = fields(await c.next('ErrorResponse'));
    expect(err.C).toBe(SQLSTATE.insufficientPrivilege);
    expect(err.M).toContain('database name "template1" is not allowed');
    await c.closed;
  });

  test('a startup packet announcing 100 MB is refused from its header, at once', async () => {
    const c = await pgWireClient(h.port);
    const head = Buffer.alloc(8);
    head.writeInt32BE(100 * 1024 * 1024, 0);
    head.writeInt32BE(196608, 4);
    c.send(head);
    const err = fields(await c.next('ErrorResponse', 2_000));
    expect(err.C).toBe(SQLSTATE.protocolViolation);
    expect(err.M).toContain('startup packet of 104857600 bytes exceeds the limit of 65536');
    await c.closed;
  });

  test('a truncated startup packet (the client half-closes mid-packet) gets a clear error', async () => {
    const seen = h.events.length;
    const c = await pgWireClient(h.port);
    const whole = startup('alice');
    c.send(whole.subarray(0, 12));
    c.socket.end();
    const err = fields(await c.next('ErrorResponse'));
    expect(err.C).toBe(SQLSTATE.protocolViolation);
    expect(err.M).toContain(`truncated PostgreSQL startup packet`);
    expect(err.M).toContain(`12 of the ${whole.length} bytes`);
    await c.closed;
    await until('the refusal event', () => h.events.length > seen);
    expect(h.events[seen]).toMatchObject({ type: 'db.session.start', success: false });
  });

  test('a typed message announcing more than 1 GiB ends the session with 08P01', async () => {
    const c = await pgWireClient(h.port);
    c.send(startup('alice'));
    await c.next('ReadyForQuery');
    const head = Buffer.from([0x51, 0, 0, 0, 0]);
    head.writeInt32BE(0x7fffffff, 1);
    c.send(head);
    const err = fields(await c.next('ErrorResponse', 2_000));
    expect(err.C).toBe(SQLSTATE.protocolViolation);
    expect(err.M).toContain('PostgreSQL Query of 2147483647 bytes exceeds the limit of 1073741824');
    await c.closed;
  });

  test('a query cut short by the client is not forwarded, and the session end says it was truncated', async () => {
    const seen = h.events.length;
    const c = await pgWireClient(h.port);
    c.send(startup('alice'));
    await c.next('ReadyForQuery');
    const id = h.sessions.at(-1)!.session.id;
    const q = query('select 42');
    c.send(q.subarray(0, q.length - 4));
    c.socket.end();
    await c.closed;
    const mine = () => h.events.slice(seen).filter((e) => e.session_id === id);
    await until('the session end', () => mine().some((e) => e.type === 'db.session.end'));
    const end = mine().find((e) => e.type === 'db.session.end')!;
    expect(end.reason).toContain(`truncated message "Q" of ${q.length} bytes, ${q.length - 4} received`);
    expect(mine().some((e) => e.type === 'db.query')).toBe(false);
  });

  test('a malformed Bind ends the session with a protocol violation naming it', async () => {
    const c = await pgWireClient(h.port);
    c.send(startup('alice'));
    await c.next('ReadyForQuery');
    // Bind "" "" with -1 parameter format codes.
    c.send(Buffer.from([0x42, 0, 0, 0, 8, 0, 0, 0xff, 0xff]));
    const err = fields(await c.next('ErrorResponse'));
    expect(err.C).toBe(SQLSTATE.protocolViolation);
    expect(err.M).toContain('malformed PostgreSQL Bind');
    await c.closed;
  });

  test('the client sees tp cancel keys, not the server; another user quoting one cancels nothing', async () => {
    const victim = await pgWireClient(h.port);
    victim.send(startup('alice'));
    const key = (await victim.next('BackendKeyData')) as { pid: number; secret: Buffer };
    await victim.next('ReadyForQuery');
    victim.send(query('select pg_backend_pid()'));
    await until('the pid row', () => victim.messages.filter((m) => m.type === 'ReadyForQuery').length === 2);
    const row = victim.messages.find((m) => m.type === 'Other' && m.code === 'D') as { body: Buffer };
    const serverPid = Number(row.body.subarray(6).toString());
    expect(key.pid).not.toBe(serverPid);

    victim.send(query('select pg_sleep(3)'));
    await until('the sleep to start', () => h.events.some((e) => e.statement === 'select pg_sleep(3)'));
    const owner = h.user;
    h.user = { ...owner, name: 'mallory@example.com' };
    try {
      const attacker = await pgWireClient(h.port);
      attacker.send(cancelRequest(key.pid, key.secret));
      await attacker.closed;
    } finally {
      h.user = owner;
    }
    // Not cancelled: the sleep runs to its end and the query completes without an error.
    await until(
      'the sleep to end',
      () => victim.messages.filter((m) => m.type === 'ReadyForQuery').length === 3,
      8_000,
    );
    expect(victim.messages.some((m) => m.type === 'ErrorResponse')).toBe(false);
    victim.socket.end();
    await victim.closed;
  });
});
