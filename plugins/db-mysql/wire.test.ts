import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer } from 'node:net';
import { SQL } from 'bun';
import { BadParameter, LimitExceeded } from '../../core/errors.ts';
import { run } from '../../test/helpers/cli.ts';
import { MARIADB, type MariadbServer, mariadbMissing, startMariadbServer } from '../../test/helpers/mariadbServer.ts';
import { type MysqlRelay, startMysqlRelay } from '../../test/helpers/mysqlRelay.ts';
import {
  buildErr,
  buildHandshakeResponse,
  buildInitialHandshake,
  CLIENT,
  clientOffer,
  framePacket,
  MARIADB_CLIENT,
  MAX_FRAGMENT,
  MYSQL_ERROR,
  PacketReader,
  PreparedStatements,
  parseCommand,
  parseErr,
  parseHandshakeResponse,
  parseInitialHandshake,
} from './wire.ts';

if (mariadbMissing) console.error(`\n!!! MySQL wire tests against a real server are SKIPPED: ${mariadbMissing}\n`);

const mariadbCli = (port: number, args: string[]) =>
  run([
    MARIADB.client ?? 'mariadb',
    '--no-defaults',
    '--connect-timeout=10',
    '-h',
    '127.0.0.1',
    '-P',
    String(port),
    '--skip-ssl',
    ...args,
  ]);

describe.skipIf(!!mariadbMissing)('MySQL wire: stock clients through a relay built on the codec', () => {
  let m: MariadbServer;
  let relay: MysqlRelay;
  beforeAll(async () => {
    m = await startMariadbServer();
    relay = await startMysqlRelay(m, await m.clientCert('alice'));
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await m?.close();
  });

  test('mariadb logs in as alice@% in plain text to the relay, which reaches the server over TLS', async () => {
    const r = await mariadbCli(relay.port, [
      '-u',
      'alice',
      '-D',
      'mysql',
      '-N',
      '-B',
      '-e',
      'select current_user(); use information_schema; select database()',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['alice@%', 'information_schema', '']);
    const s = relay.sessions.at(-1)!;
    await s.done;
    expect(s.greeting!.capabilities & CLIENT.SSL).toBe(CLIENT.SSL);
    expect(s.offered!.capabilities & (CLIENT.SSL | CLIENT.COMPRESS)).toBe(0);
    expect(s.greeting!.mariadbCapabilities & MARIADB_CLIENT.STMT_BULK_OPERATIONS).toBe(
      MARIADB_CLIENT.STMT_BULK_OPERATIONS,
    );
    expect(s.offered!.mariadbCapabilities & MARIADB_CLIENT.STMT_BULK_OPERATIONS).toBe(0);
    expect(s.response!.mariadbCapabilities & MARIADB_CLIENT.STMT_BULK_OPERATIONS).toBe(0);
    expect(s.offered!.scramble).toEqual(s.greeting!.scramble);
    expect(s.greeting).toMatchObject({
      authPluginName: 'mysql_native_password',
      serverVersion: expect.stringContaining('MariaDB'),
    });
    expect(s.greeting!.scramble).toHaveLength(20);
    expect(s.response).toMatchObject({ username: 'alice', database: 'mysql', authPluginName: 'mysql_native_password' });
    expect(s.response!.attributes).toMatchObject({ _client_name: 'libmariadb', program_name: 'mysql' });
    expect(s.commands).toEqual([
      { type: 'Query', sql: 'select current_user()' },
      { type: 'Query', sql: 'SELECT DATABASE()' },
      { type: 'InitDb', database: 'information_schema' },
      { type: 'Query', sql: 'select database()' },
      { type: 'Quit' },
    ]);
  });

  test('the recorded bytes re-parse the same byte by byte, and greeting and response re-encode to the same bytes', async () => {
    await mariadbCli(relay.port, ['-u', 'alice', '-e', 'select 1']);
    const s = relay.sessions.at(-1)!;
    await s.done;
    const bytes = Buffer.concat(s.clientBytes);
    const whole = new PacketReader().push(bytes);
    const reader = new PacketReader();
    const single = [...bytes].flatMap((b) => reader.push(Buffer.from([b])));
    expect(single.map((p) => p.raw)).toEqual(whole.map((p) => p.raw));
    expect(Buffer.concat(whole.map((p) => p.raw)).equals(bytes)).toBe(true);
    expect(whole.map((p) => p.seq)).toEqual([1, 0, 0]); // response, COM_QUERY, COM_QUIT
    expect(buildHandshakeResponse(parseHandshakeResponse(whole[0]!.payload)).equals(whole[0]!.payload)).toBe(true);
    expect(buildInitialHandshake(parseInitialHandshake(s.greetingPayload!)).equals(s.greetingPayload!)).toBe(true);
  });

  test("a driver's prepared statement: COM_STMT_PREPARE, then COM_STMT_EXECUTE with typed parameters", async () => {
    const sql = new SQL({
      adapter: 'mysql',
      hostname: '127.0.0.1',
      port: relay.port,
      username: 'alice',
      database: 'mysql',
      tls: false,
      max: 1,
    });
    try {
      const rows = await sql`select ${42} + 1 as n, ${'x'} as s, ${null} as z, ${1.5} as f, ${new Date(0)} as d`;
      expect(rows[0]).toMatchObject({ n: 43, s: 'x', z: null, f: 1.5 });
    } finally {
      await sql.close();
    }
    const s = relay.sessions.at(-1)!;
    await s.done;
    const execute = s.commands.find((c) => c.type === 'StmtExecute');
    expect(execute).toMatchObject({ sql: 'select ?  + 1 as n, ?  as s, ?  as z, ?  as f, ?  as d' });
    expect(execute?.type === 'StmtExecute' && execute.params.map((p) => p.value)).toEqual([
      42,
      'x',
      null,
      1.5,
      '1970-01-01 00:00:00',
    ]);
  });

  test('mariadb shows our ERR packet: ERROR 1045 (28000) with our message', async () => {
    const seen: string[] = [];
    const greeting = buildInitialHandshake(clientOffer(parseInitialHandshake(relay.sessions[0]!.greetingPayload!)));
    const fake = createServer((sock) => {
      sock.write(framePacket(greeting, 0));
      const reader = new PacketReader();
      sock.on('data', (b: Buffer) => {
        for (const p of reader.push(b)) {
          const user = parseHandshakeResponse(p.payload).username;
          seen.push(user);
          sock.end(
            framePacket(
              buildErr(MYSQL_ERROR.accessDenied, `tp: database user "${user}" is not allowed by your roles`),
              p.seq + 1,
            ),
          );
        }
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    const r = await mariadbCli((fake.address() as { port: number }).port, ['-u', 'bob', '-e', 'select 1']);
    fake.close();
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('ERROR 1045 (28000): tp: database user "bob" is not allowed by your roles');
    expect(seen).toEqual(['bob']);
  });
});

describe('MySQL wire: framing, commands and limits', () => {
  const cmd = (...bytes: (number | string | Buffer)[]) =>
    Buffer.concat(bytes.map((b) => (typeof b === 'number' ? Buffer.from([b]) : Buffer.from(b))));

  test('a payload of 16 MiB and more is split at 0xFFFFFF and joined back; an exact multiple ends with an empty packet', () => {
    for (const size of [MAX_FRAGMENT + 10, MAX_FRAGMENT]) {
      const payload = Buffer.alloc(size, 0x61);
      payload[0] = 0x03;
      const framed = framePacket(payload, 0);
      expect(framed.length).toBe(size + 8);
      const reader = new PacketReader();
      const out = [];
      for (let i = 0; i < framed.length; i += 1 << 20) out.push(...reader.push(framed.subarray(i, i + (1 << 20))));
      expect(out).toHaveLength(1);
      expect([out[0]!.seq, out[0]!.lastSeq]).toEqual([0, 1]);
      expect(out[0]!.payload.equals(payload)).toBe(true);
    }
  });

  test('a packet over the limit is refused from its header; out-of-order fragments are malformed; short input waits', () => {
    const head = Buffer.from([0xff, 0xff, 0xff, 0x00]);
    const reader = new PacketReader({ maxPayloadLength: 1 << 20 });
    expect(() => reader.push(head)).toThrow(LimitExceeded);
    expect(() => reader.push(Buffer.from([1, 0, 0, 0, 1]))).toThrow(LimitExceeded); // stays failed
    const split = Buffer.concat([
      framePacket(Buffer.alloc(MAX_FRAGMENT), 0).subarray(0, MAX_FRAGMENT + 4),
      Buffer.from([1, 0, 0, 5, 9]),
    ]);
    expect(() => new PacketReader().push(split)).toThrow(/fragment sequence 5 after 0/);
    const q = framePacket(cmd(0x03, 'select 1'), 0);
    const r = new PacketReader();
    expect(r.push(q.subarray(0, q.length - 1))).toEqual([]);
    expect(r.push(q.subarray(q.length - 1)).map((p) => p.payload.toString('utf8', 1))).toEqual(['select 1']);
  });

  test('COM_CHANGE_USER is detected with the user it names', () => {
    const payload = cmd(0x11, 'bob\0', 0, 'mysql\0', 33, 0, 'mysql_native_password\0');
    expect(parseCommand(payload, new PreparedStatements())).toEqual({ type: 'ChangeUser', username: 'bob' });
  });

  test('COM_STMT_EXECUTE: NULL bitmap, types reused when not resent, and malformed executes refused', () => {
    const st = new PreparedStatements();
    parseCommand(cmd(0x16, 'select ?, ?'), st);
    st.answered(cmd(0x00, Buffer.from([7, 0, 0, 0]), Buffer.from([2, 0]), Buffer.from([2, 0]), 0, Buffer.from([0, 0])));
    const exec = (rest: Buffer) =>
      parseCommand(cmd(0x17, Buffer.from([7, 0, 0, 0]), 0, Buffer.from([1, 0, 0, 0]), rest), st);
    const first = exec(cmd(0b10, 1, Buffer.from([0x08, 0x80, 0x0f, 0]), Buffer.from([5, 0, 0, 0, 0, 0, 0, 0])));
    expect(first).toMatchObject({
      type: 'StmtExecute',
      statementId: 7,
      sql: 'select ?, ?',
      params: [{ value: 5n, unsigned: true }, { value: null }],
    });
    const again = exec(cmd(0, 0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 2, 'hi'));
    expect(again.type === 'StmtExecute' && again.params.map((p) => p.value)).toEqual([2n ** 64n - 1n, 'hi']);
    expect(() => exec(cmd(0, 1, Buffer.from([0x08, 0, 0x0f])))).toThrow(/COM_STMT_EXECUTE: ends early/);
    expect(() => exec(cmd(0, 1, Buffer.from([0x42, 0, 0x0f, 0]), 0))).toThrow(/parameter type 0x42 is not supported/);
    expect(() => parseCommand(cmd(0x17, Buffer.from([9, 0, 0, 0]), 0, Buffer.from([1, 0, 0, 0])), st)).toThrow(
      /statement 9 was never prepared/,
    );
    parseCommand(cmd(0x19, Buffer.from([7, 0, 0, 0])), st);
    expect(st.size).toBe(0);
  });

  test('statement ID 0xFFFFFFFF (MariaDB execute-direct) names the statement prepared last', () => {
    const st = new PreparedStatements();
    for (const [id, sql] of [
      [3, 'select ?'],
      [4, 'select ? + 1'],
    ] as const) {
      parseCommand(cmd(0x16, sql), st);
      st.answered(
        cmd(0x00, Buffer.from([id, 0, 0, 0]), Buffer.from([1, 0]), Buffer.from([1, 0]), 0, Buffer.from([0, 0])),
      );
    }
    const direct = parseCommand(
      cmd(
        0x17,
        Buffer.from([0xff, 0xff, 0xff, 0xff]),
        0,
        Buffer.from([1, 0, 0, 0]),
        0,
        1,
        Buffer.from([0x03, 0]),
        Buffer.from([9, 0, 0, 0]),
      ),
      st,
    );
    expect(direct).toMatchObject({ type: 'StmtExecute', sql: 'select ? + 1', params: [{ value: 9 }] });
    parseCommand(cmd(0x19, Buffer.from([0xff, 0xff, 0xff, 0xff])), st);
    expect(st.get(4)).toBeUndefined();
    expect(st.get(3)?.sql).toBe('select ?');
  });

  test('an SSLRequest is not a handshake response; an ERR packet reads back', () => {
    const ssl = Buffer.alloc(32);
    ssl.writeUInt32LE(CLIENT.PROTOCOL_41 | CLIENT.SSL);
    expect(() => parseHandshakeResponse(ssl)).toThrow(BadParameter);
    expect(() => parseHandshakeResponse(ssl)).toThrow(/an SSLRequest, not a handshake response/);
    expect(parseErr(buildErr(MYSQL_ERROR.dbAccessDenied, 'no'))).toEqual({
      code: 1044,
      sqlState: '42000',
      message: 'no',
    });
  });
});
