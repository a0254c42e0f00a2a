// Attacks on the db-mysql agent over its own wire: a user switch inside the session, capability flags the agent
// did not offer, packets too large for it, and packets that never finish. Real MariaDB behind the real agent side.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CLIENT, COM, framePacket, MAX_FRAGMENT, parseErr } from '../../plugins/db-mysql/wire.ts';
import { type MariadbServer, mariadbMissing, startMariadbServer } from '../helpers/mariadbServer.ts';
import { dbRole, type MysqlAgentHarness, startMysqlAgentHarness, until } from '../helpers/mysqlAgentHarness.ts';
import { rawMysqlConnect, rawMysqlLogin } from '../helpers/mysqlRawClient.ts';

if (mariadbMissing) console.warn(`skipping db-mysql wire attacks: ${mariadbMissing}`);

const dev = dbRole({
  metadata: { name: 'dev' },
  spec: { allow: { db_labels: { env: 'dev' }, db_users: ['alice'], db_names: ['*'] } },
});

const query = (sql: string) => Buffer.concat([Buffer.from([COM.QUERY]), Buffer.from(sql)]);

describe.skipIf(mariadbMissing !== undefined)('db-mysql agent under attack on its wire', () => {
  let maria: MariadbServer;
  let h: MysqlAgentHarness;
  beforeAll(async () => {
    maria = await startMariadbServer({ users: ['alice'] });
    // carol needs no certificate subject: on the agent's TLS connection MariaDB itself would let alice become her.
    await maria.admin(
      "CREATE USER 'carol'@'%'; GRANT ALL ON *.* TO 'carol'@'%'; CREATE DATABASE app; CREATE TABLE app.t (v TEXT)",
    );
    h = await startMysqlAgentHarness({ maria, roles: [dev], user: { name: 'ann', roles: ['dev'], traits: {} } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await maria?.close();
  });
  const since = (mark: number, type: string) => h.events.slice(mark).filter((e) => e.type === type);

  test('COM_CHANGE_USER to a user the roles lack is refused before the server sees it', async () => {
    const mark = await h.mark();
    const c = await rawMysqlLogin(h.port, 'alice');
    const charset = Buffer.from([45, 0]);
    c.command(
      Buffer.concat([
        Buffer.from([COM.CHANGE_USER]),
        Buffer.from('carol\0'),
        Buffer.from([0]), // no auth data: carol has no password
        Buffer.from('\0'),
        charset,
        Buffer.from('mysql_native_password\0'),
      ]),
    );
    const answer = await c.read();
    expect(parseErr(answer.payload)).toMatchObject({ code: 1045, sqlState: '28000' });
    expect(parseErr(answer.payload)?.message).toContain('COM_CHANGE_USER to "carol"');
    await c.closed;
    await until('the refusal', () => since(mark, 'db.session.end').length > 0);
    expect(since(mark, 'db.query')).toEqual([
      expect.objectContaining({ command: 'COM_CHANGE_USER', success: false, db_user: 'alice' }),
    ]);
    expect(h.certRequests).not.toContain('carol');
  });

  test('a malformed COM_CHANGE_USER (no NUL after the name) is refused too', async () => {
    const c = await rawMysqlLogin(h.port, 'alice');
    c.command(Buffer.concat([Buffer.from([COM.CHANGE_USER]), Buffer.from('carol')]));
    expect(parseErr((await c.read()).payload)?.code).toBe(1045);
    await c.closed;
  });

  test('capabilities the agent did not offer never reach the server (no compression past the audit)', async () => {
    const mark = await h.mark();
    const c = await rawMysqlLogin(h.port, 'alice', { extraCapabilities: CLIENT.COMPRESS });
    c.command(query('select 7 as seven'));
    const first = await c.read();
    expect(first.payload[0]).toBe(1); // one column, uncompressed
    await until('the audited query', () => since(mark, 'db.query').some((e) => e.statement === 'select 7 as seven'));
    c.close();
  });

  test('LOAD DATA LOCAL cannot be switched on by claiming CLIENT_LOCAL_FILES', async () => {
    const c = await rawMysqlLogin(h.port, 'alice', { extraCapabilities: CLIENT.LOCAL_FILES, database: 'app' });
    c.command(query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t"));
    const answer = await c.read();
    expect(answer.payload[0]).not.toBe(0xfb); // no file request reached the client
    // 1148 ER_NOT_ALLOWED_COMMAND (MySQL) or 4166 ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.11).
    expect([1148, 4166]).toContain(parseErr(answer.payload)?.code ?? 0);
    c.close();
  });

  test('a login packet larger than the agent reads is refused from its header, with the limit', async () => {
    const mark = await h.mark();
    const { client } = await rawMysqlConnect(h.port);
    const head = Buffer.from([0xff, 0xff, 0xff, 1]);
    client.send(Buffer.concat([head, Buffer.alloc(1024)]));
    const answer = parseErr((await client.read()).payload);
    expect(answer).toMatchObject({ code: 1153, sqlState: '08S01' });
    expect(answer?.message).toContain('exceeds the limit of 65536');
    await client.closed;
    await until('the refused start', () => since(mark, 'db.session.start').length > 0);
    expect(since(mark, 'db.session.start')[0]).toMatchObject({ success: false });
  });

  test('a command larger than 64 MiB is refused with a clear error and the session ends', async () => {
    const mark = await h.mark();
    const c = await rawMysqlLogin(h.port, 'alice');
    const fragment = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0]), Buffer.alloc(MAX_FRAGMENT, 0x20)]);
    fragment[4] = COM.QUERY;
    for (let i = 0; i < 5; i++) {
      const f = Buffer.from(fragment);
      f[3] = i;
      if (i > 0) f[4] = 0x20;
      c.send(f);
    }
    const answer = parseErr((await c.read(20_000)).payload);
    expect(answer).toMatchObject({ code: 1153 });
    expect(answer?.message).toContain(`exceeds the limit of ${64 * 1024 * 1024}`);
    await c.closed;
    await until('the session end', () => since(mark, 'db.session.end').length > 0);
    expect(String(since(mark, 'db.session.end')[0]?.reason)).toContain('exceeds the limit');
    expect(since(mark, 'db.query')).toEqual([]);
  });

  test('a handshake answer cut short is refused as malformed', async () => {
    const { client } = await rawMysqlConnect(h.port);
    const caps = Buffer.alloc(4);
    caps.writeUInt32LE(CLIENT.PROTOCOL_41);
    client.send(framePacket(Buffer.concat([caps, Buffer.alloc(6)]), 1));
    const answer = parseErr((await client.read()).payload);
    expect(answer).toMatchObject({ code: 1043, sqlState: '08S01' });
    expect(answer?.message).toContain('malformed MySQL HandshakeResponse41');
    await client.closed;
  });

  test('a packet that never finishes is audited as such, at login and in the session', async () => {
    let mark = await h.mark();
    const { client } = await rawMysqlConnect(h.port);
    client.send(Buffer.from([200, 0, 0, 1, 1, 2, 3]));
    client.socket.end();
    await until('the refused start', () => since(mark, 'db.session.start').length > 0);
    expect(String(since(mark, 'db.session.start')[0]?.error)).toContain(
      'the client closed the connection inside a packet (7 bytes of an unfinished packet)',
    );

    mark = await h.mark();
    const c = await rawMysqlLogin(h.port, 'alice');
    c.send(Buffer.concat([Buffer.from([100, 0, 0, 0, COM.QUERY]), Buffer.from('drop')]));
    c.socket.end();
    await until('the session end', () => since(mark, 'db.session.end').length > 0);
    expect(since(mark, 'db.session.end')[0]?.reason).toBe(
      'the client closed the connection inside a packet (9 bytes of an unfinished packet)',
    );
    expect(since(mark, 'db.query')).toEqual([]);
  });

  test('a client that asks for TLS is told the connection is already encrypted', async () => {
    const { client } = await rawMysqlConnect(h.port);
    const ssl = Buffer.alloc(32);
    ssl.writeUInt32LE(CLIENT.PROTOCOL_41 | CLIENT.SSL | CLIENT.SECURE_CONNECTION);
    client.send(framePacket(ssl, 1));
    expect(parseErr((await client.read()).payload)?.message).toContain('tp already encrypts this connection');
    await client.closed;
  });
});
