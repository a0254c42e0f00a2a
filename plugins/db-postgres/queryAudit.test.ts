import { describe, expect, test } from 'bun:test';
import { MAX_EVENT_TEXT } from '../../core/audit/capText.ts';
import { ClientFramer } from './clientFrames.ts';
import { QueryAudit, type QueryFields } from './queryAudit.ts';
import { MessageWriter } from './wire/cursor.ts';
import { query } from './wire.ts';

const parse = (name: string, sql: string) => new MessageWriter().cstr(name).cstr(sql).i16(0).frame('P');
/** Bind with per-parameter format codes (0 text, 1 binary) and values (null = SQL NULL). */
function bind(portal: string, statement: string, formats: number[], values: (Buffer | null)[]): Buffer {
  const w = new MessageWriter().cstr(portal).cstr(statement).i16(formats.length);
  for (const f of formats) w.i16(f);
  w.i16(values.length);
  for (const v of values) {
    if (v === null) w.i32(-1);
    else w.i32(v.length).bytes(v);
  }
  return w.i16(0).frame('B');
}
const execute = (portal: string) => new MessageWriter().cstr(portal).i32(0).frame('E');

/** Feeds `bytes` through a framer and an audit in `size`-byte chunks; returns what was forwarded and emitted. */
function relay(bytes: Buffer, size = 1000): { forwarded: Buffer; events: QueryFields[] } {
  const framer = new ClientFramer();
  const events: QueryFields[] = [];
  const audit = new QueryAudit((q) => events.push(q));
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    framer.push(
      bytes.subarray(i, i + size),
      (b) => out.push(Buffer.from(b)),
      (e) => audit.observe(e),
    );
  }
  expect(framer.atBoundary).toBe(true);
  return { forwarded: Buffer.concat(out), events };
}

describe('db.query fields from the client stream', () => {
  test('extended protocol: Execute reports the portal statement with text, binary and NULL parameters', () => {
    const bytes = Buffer.concat([
      parse('s1', 'select $1, $2, $3'),
      bind('', 's1', [0, 1, 0], [Buffer.from('42'), Buffer.from([0xde, 0xad]), null]),
      execute(''),
    ]);
    const { forwarded, events } = relay(bytes, 7);
    expect(forwarded.equals(bytes)).toBe(true);
    expect(events).toEqual([{ statement: 'select $1, $2, $3', parameters: ['42', '\\xdead', null] }]);
  });

  test('a 100 KiB query is cut to 32 KiB and marked truncated; the bytes pass unchanged', () => {
    const sql = `select '${'x'.repeat(100 * 1024)}'`;
    const bytes = query(sql);
    const { forwarded, events } = relay(bytes, 4096);
    expect(forwarded.equals(bytes)).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]!.truncated).toBe(true);
    expect(Buffer.byteLength(events[0]!.statement)).toBe(MAX_EVENT_TEXT);
    expect(sql.startsWith(events[0]!.statement)).toBe(true);
  });

  test('a 3 MiB query streams through (never held whole) and is audited from its first bytes', () => {
    const sql = `select '${'y'.repeat(3 * 1024 * 1024)}'`;
    const bytes = query(sql);
    const { forwarded, events } = relay(bytes, 65536);
    expect(forwarded.equals(bytes)).toBe(true);
    expect(events).toEqual([{ statement: sql.slice(0, MAX_EVENT_TEXT), truncated: true }]);
    // The first chunk goes on at once, before the message is complete.
    const framer = new ClientFramer();
    let sent = 0;
    framer.push(
      bytes.subarray(0, 65536),
      (b) => (sent += b.length),
      (e) => expect(e).toBeUndefined(), // nothing is reported before the message ends
    );
    expect(sent).toBe(65536);
    expect(framer.atBoundary).toBe(false);
  });

  test('parameters share the 32 KiB budget with the statement: the rest is cut and marked', () => {
    const big = Buffer.from('p'.repeat(40 * 1024));
    const bytes = Buffer.concat([
      parse('', 'insert into t values ($1, $2)'),
      bind('', '', [], [big, big]),
      execute(''),
    ]);
    const [e] = relay(bytes).events;
    expect(e!.truncated).toBe(true);
    const size = Buffer.byteLength(e!.statement) + e!.parameters!.reduce((n, p) => n + Buffer.byteLength(p ?? ''), 0);
    expect(size).toBeLessThanOrEqual(MAX_EVENT_TEXT);
  });

  test('a statement closed, then executed through a stale portal name, is reported as unknown', () => {
    const bytes = Buffer.concat([
      parse('s', 'select 1'),
      new MessageWriter().u8(0x53).cstr('s').frame('C'),
      bind('p', 's', [], []),
      execute('p'),
    ]);
    expect(relay(bytes).events).toEqual([
      { statement: `(prepared statement "s" is not known to tp's audit)`, parameters: [], truncated: true },
    ]);
  });
});
