import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer } from 'node:net';
import { BadParameter, LimitExceeded } from '../../core/errors.ts';
import { run } from '../../test/helpers/cli.ts';
import type { CertFiles } from '../../test/helpers/dbPki.ts';
import { type PgRecorder, type PgRecording, startPostgresRecorder } from '../../test/helpers/postgresRecorder.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from '../../test/helpers/postgresServer.ts';
import {
  AUTH,
  type BackendMessage,
  BackendParser,
  cancelRequest,
  ENCRYPTION_REFUSED,
  errorResponse,
  type FrontendMessage,
  FrontendParser,
  SQLSTATE,
  sslRequest,
  startupMessage,
} from './wire.ts';

const client = (r: PgRecording) => new FrontendParser().push(r.client());
const server = (r: PgRecording) => new BackendParser().push(r.server());
const types = (ms: (FrontendMessage | BackendMessage)[]) => ms.map((m) => m.type);
/** Feeds `bytes` in pieces of `size` bytes, collecting everything the parser returns. */
function pieces<T>(p: { push(b: Uint8Array): T[] }, bytes: Buffer, size: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...p.push(bytes.subarray(i, i + size)));
  return out;
}
async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

if (postgresMissing)
  console.error(`\n!!! PostgreSQL wire tests against a real server are SKIPPED: ${postgresMissing}\n`);

describe.skipIf(!!postgresMissing)('PostgreSQL wire: real psql and pgbench sessions parse back', () => {
  let pg: PostgresServer;
  let rec: PgRecorder;
  let alice: CertFiles;
  const env = { PGSSLMODE: 'prefer', PGGSSENCMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
  const psql = (args: string[], stdin?: string) =>
    run(['psql', '-X', '-h', '127.0.0.1', '-p', String(rec.port), '-U', 'alice', '-d', 'postgres', ...args], {
      env,
      stdin,
    });
  beforeAll(async () => {
    pg = await startPostgresServer();
    alice = await pg.clientCert('alice');
    rec = await startPostgresRecorder(pg, alice);
  }, 60_000);
  afterAll(async () => {
    await rec?.close();
    await pg?.close();
  });

  test('a simple query: SSLRequest, StartupMessage, Query, Terminate; the server authenticates and answers', async () => {
    const r = await psql(['-Atc', 'select 41 + 1']);
    expect(r.stdout.trim()).toBe('42');
    const s = rec.sessions.at(-1)!;
    await s.done;
    const msgs = client(s);
    expect(types(msgs)).toEqual(['SSLRequest', 'StartupMessage', 'Query', 'Terminate']);
    const startup = msgs[1] as Extract<FrontendMessage, { type: 'StartupMessage' }>;
    expect([startup.major, startup.minor]).toEqual([3, 0]);
    expect(startup.params).toMatchObject({ user: 'alice', database: 'postgres', application_name: 'psql' });
    expect(msgs[2]).toMatchObject({ type: 'Query', sql: 'select 41 + 1' });
    expect(Buffer.concat(msgs.map((m) => m.raw)).equals(s.client())).toBe(true);
    // Byte by byte, the parser waits through every truncation and yields the same messages.
    expect(pieces(new FrontendParser(), s.client(), 1).map((m) => m.raw)).toEqual(msgs.map((m) => m.raw));

    const answers = server(s);
    expect(answers[0]).toMatchObject({ type: 'Authentication', kind: AUTH.ok });
    const params = answers.filter((m) => m.type === 'ParameterStatus').map((m) => [m.name, m.value]);
    expect(Object.fromEntries(params)).toMatchObject({ session_authorization: 'alice', server_encoding: 'UTF8' });
    expect(answers.filter((m) => m.type === 'BackendKeyData')).toHaveLength(1);
    expect(answers.filter((m) => m.type === 'ReadyForQuery').map((m) => m.status)).toEqual(['I', 'I']);
    expect(answers.filter((m) => m.type === 'Other').map((m) => m.code)).toEqual(['T', 'D', 'C']);
    expect(pieces(new BackendParser(), s.server(), 7)).toHaveLength(answers.length);
  });

  test('pgbench -M extended: Parse with $1 and $2, Bind carrying the values, Describe, Execute, Sync', async () => {
    const script = `${pg.socketDir}/../bench.sql`;
    await Bun.write(script, "\\set aid 4242\n\\set tag 7\nSELECT :aid::int + 1 AS n, 'x' || :tag AS s;\n");
    const r = await run(
      [
        'pgbench',
        '-n',
        '-t',
        '1',
        '-M',
        'extended',
        '-f',
        script,
        '-h',
        '127.0.0.1',
        '-p',
        String(rec.port),
        '-U',
        'alice',
        'postgres',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    const s = rec.sessions.at(-1)!;
    await s.done;
    const msgs = client(s);
    const parse = msgs.find((m) => m.type === 'Parse');
    expect(parse).toMatchObject({ statement: '', sql: "SELECT $1::int + 1 AS n, 'x' || $2 AS s;" });
    const bind = msgs.find((m) => m.type === 'Bind');
    expect(bind?.type === 'Bind' && bind.values.map((v) => v?.toString())).toEqual(['4242', '7']);
    expect(bind).toMatchObject({ portal: '', statement: '', paramFormats: [] });
    expect(types(msgs)).toContain('Execute');
    expect(types(msgs).slice(-2)).toEqual(['Sync', 'Terminate']);
  });

  test('COPY FROM STDIN: the rows arrive as CopyData, then CopyDone', async () => {
    const r = await psql(
      ['-c', 'create temp table t (a int, b text)', '-c', 'copy t from stdin'],
      '1\tone\n2\ttwo\n\\.\n',
    );
    expect(r.stderr).toBe('');
    const s = rec.sessions.at(-1)!;
    await s.done;
    const msgs = client(s);
    const data = Buffer.concat(msgs.flatMap((m) => (m.type === 'CopyData' ? [m.data] : [])));
    expect(data.toString()).toBe('1\tone\n2\ttwo\n\\.\n'); // psql 15 sends the end marker line as data too
    expect(types(msgs)).toContain('CopyDone');
  });

  test("psql's Ctrl+C sends a CancelRequest on a new connection naming the session's BackendKeyData", async () => {
    const before = rec.sessions.length;
    const child = Bun.spawn(
      [
        'psql',
        '-X',
        '-h',
        '127.0.0.1',
        '-p',
        String(rec.port),
        '-U',
        'alice',
        '-d',
        'postgres',
        '-c',
        'select pg_sleep(30)',
      ],
      {
        env: { ...process.env, ...env },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    );
    await until('the query to reach the server', () => {
      const s = rec.sessions[before];
      return !!s && client(s).some((m) => m.type === 'Query');
    });
    const t0 = Date.now();
    child.kill('SIGINT');
    const [stderr, code] = [await new Response(child.stderr).text(), await child.exited];
    expect(stderr).toContain('canceling statement due to user request');
    expect(code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const key = server(rec.sessions[before]!).find((m) => m.type === 'BackendKeyData');
    const cancel = client(rec.sessions[before + 1]!);
    expect(types(cancel)).toEqual(['CancelRequest']);
    expect(cancel[0]).toMatchObject({ type: 'CancelRequest', pid: key?.type === 'BackendKeyData' ? key.pid : -1 });
    expect(
      cancel[0]?.type === 'CancelRequest' && key?.type === 'BackendKeyData' && cancel[0].secret.equals(key.secret),
    ).toBe(true);
    const error = server(rec.sessions[before]!).find((m) => m.type === 'ErrorResponse');
    expect(error?.type === 'ErrorResponse' && error.fields.C).toBe('57014'); // query_canceled
  });
});

describe('PostgreSQL wire: what tp writes', () => {
  test('psql shows our refusal: N to SSLRequest, then a FATAL ErrorResponse with SQLSTATE 28000', async () => {
    const seen: FrontendMessage[] = [];
    const srv = createServer((sock) => {
      const parser = new FrontendParser();
      sock.on('data', (b: Buffer) => {
        for (const m of parser.push(b)) {
          seen.push(m);
          if (m.type === 'SSLRequest') sock.write(ENCRYPTION_REFUSED);
          if (m.type === 'StartupMessage') {
            const message = `tp: database user "${m.params.user}" is not allowed by your roles`;
            sock.end(errorResponse({ code: SQLSTATE.invalidAuthorization, message, hint: 'ask for db_users' }));
          }
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const r = await run([
      'psql',
      '-X',
      `host=127.0.0.1 port=${port} user=bob dbname=x sslmode=prefer gssencmode=disable`,
      '-c',
      'select 1',
    ]);
    srv.close();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FATAL:  tp: database user "bob" is not allowed by your roles');
    expect(r.stderr).toContain('HINT:  ask for db_users');
    expect(types(seen)).toEqual(['SSLRequest', 'StartupMessage']);
  });

  test('builders parse back: StartupMessage, CancelRequest, ErrorResponse', () => {
    const [s] = new FrontendParser().push(startupMessage({ user: 'alice', database: 'd1', options: '-c x=1' }));
    expect(s).toMatchObject({
      type: 'StartupMessage',
      major: 3,
      minor: 0,
      params: { user: 'alice', database: 'd1', options: '-c x=1' },
    });
    const [c] = new FrontendParser().push(cancelRequest(1234, Buffer.from('beefcafe', 'hex')));
    expect(c?.type === 'CancelRequest' && [c.pid, c.secret.toString('hex')]).toEqual([1234, 'beefcafe']);
    const [e] = new BackendParser().push(
      errorResponse({ code: '42501', message: 'no', severity: 'ERROR', detail: 'd' }),
    );
    expect(e).toMatchObject({ type: 'ErrorResponse', fields: { S: 'ERROR', V: 'ERROR', C: '42501', M: 'no', D: 'd' } });
  });
});

describe('PostgreSQL wire: bounded and strict', () => {
  const typed = (code: string, body: Buffer) => {
    const h = Buffer.alloc(5);
    h.write(code, 0, 'latin1');
    h.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([h, body]);
  };
  const afterStartup = () => {
    const p = new FrontendParser({ maxMessageLength: 1024 * 1024 });
    p.push(startupMessage({ user: 'alice' }));
    return p;
  };

  test('a startup packet over the limit is refused from its header, before the body arrives', () => {
    const head = Buffer.alloc(8);
    head.writeInt32BE(70_000);
    head.writeInt32BE(196608, 4);
    expect(() => new FrontendParser().push(head)).toThrow(LimitExceeded);
    expect(() => new FrontendParser({ maxStartupLength: 100 }).push(startupMessage({ user: 'x'.repeat(200) }))).toThrow(
      /startup packet of \d+ bytes exceeds the limit of 100/,
    );
  });

  test('a typed message announcing 2 GiB is refused from its 5-byte header; the parser then stays failed', () => {
    const p = afterStartup();
    const head = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => p.push(head)).toThrow(LimitExceeded);
    expect(p.buffered).toBe(5);
    expect(() => p.push(typed('S', Buffer.alloc(0)))).toThrow(LimitExceeded);
  });

  test('small kinds and auth tokens have PostgreSQL’s own caps whatever the message limit', () => {
    expect(() => afterStartup().push(typed('E', Buffer.alloc(20_000)))).toThrow(/Execute of 20004 bytes/);
    expect(() => afterStartup().push(typed('p', Buffer.alloc(70_000)))).toThrow(
      /Password of 70004 bytes exceeds the limit of 65535/,
    );
    expect(afterStartup().push(typed('p', Buffer.from('secret\0')))).toMatchObject([{ type: 'Password' }]);
  });

  test('GSSENCRequest and SSLRequest may precede the StartupMessage; a CancelRequest of the wrong size is malformed', () => {
    const code = (n: number, len = 8) => {
      const b = Buffer.alloc(len);
      b.writeInt32BE(len);
      b.writeInt32BE(n, 4);
      return b;
    };
    const p = new FrontendParser();
    const out = p.push(Buffer.concat([code(80877104), sslRequest(), startupMessage({ user: 'alice', database: '' })]));
    expect(types(out)).toEqual(['GSSENCRequest', 'SSLRequest', 'StartupMessage']);
    expect(p.inStartup).toBe(false);
    expect(() => new FrontendParser().push(code(80877102, 12))).toThrow(
      /malformed PostgreSQL CancelRequest: length 12/,
    );
    expect(() => new FrontendParser().push(code(80877103, 12))).toThrow(/malformed PostgreSQL SSLRequest: length 12/);
  });

  test('truncated input waits; one byte short of a message yields nothing and throws nothing', () => {
    const p = afterStartup();
    const q = typed('Q', Buffer.from('select 1\0'));
    expect(p.push(q.subarray(0, q.length - 1))).toEqual([]);
    expect(p.push(q.subarray(q.length - 1))).toMatchObject([{ type: 'Query', sql: 'select 1' }]);
  });

  test('malformed bodies are BadParameter with the message named', () => {
    const bindShort = Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 1, 2])]);
    expect(() => afterStartup().push(typed('B', bindShort))).toThrow(/malformed PostgreSQL Bind: ends early/);
    expect(() => afterStartup().push(typed('S', Buffer.from('x')))).toThrow(BadParameter);
    expect(() => afterStartup().push(typed('Q', Buffer.from('no terminator')))).toThrow(
      /Query: string .* no terminating NUL/,
    );
    expect(() => afterStartup().push(typed('Q', Buffer.from('a\0b')))).toThrow(/unexpected bytes at the end/);
    const v2 = Buffer.alloc(8);
    v2.writeInt32BE(8);
    v2.writeInt32BE(2 << 16, 4);
    expect(() => new FrontendParser().push(v2)).toThrow(/unsupported PostgreSQL protocol 2.0/);
  });

  test('a 1 MB CopyData arriving in 1000 pieces is one message with the same bytes', () => {
    const data = Buffer.alloc(1_000_000, 7);
    data.write('end', data.length - 3);
    const out = pieces(afterStartup(), typed('d', data), 1049);
    expect(out).toHaveLength(1);
    expect(out[0]?.type === 'CopyData' && out[0].data.equals(data)).toBe(true);
  });
});
