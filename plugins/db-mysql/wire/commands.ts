/** The MySQL command phase as the agent reads it: the client's commands, the server's PREPARE_OK, OK and ERR. */

import { LimitExceeded } from '../../../core/errors.ts';
import { Cursor, PayloadWriter } from './cursor.ts';
import { type BinaryValue, readBinaryValue } from './values.ts';

/** Command bytes (the payload's first byte). */
export const COM = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  RESET_CONNECTION: 0x1f,
} as const;

/** One bound parameter of a COM_STMT_EXECUTE: its type code, unsigned flag and decoded value. */
export interface BoundParam {
  type: number;
  unsigned: boolean;
  value: BinaryValue;
}

/** One command from the client. */
export type Command =
  | { type: 'Quit' }
  | { type: 'InitDb'; database: string }
  | { type: 'Query'; sql: string }
  /** Only detected: the agent refuses it (it would switch users behind the route's back). */
  | { type: 'ChangeUser'; username: string }
  | { type: 'StmtPrepare'; sql: string }
  | { type: 'StmtExecute'; statementId: number; flags: number; sql?: string; params: BoundParam[] }
  | { type: 'StmtClose'; statementId: number }
  | { type: 'Ping' }
  /** A command this parser does not interpret (COM_STMT_SEND_LONG_DATA, COM_RESET_CONNECTION, ...): the agent decides. */
  | { type: 'Other'; command: number; body: Buffer };

interface Statement {
  sql: string;
  paramCount: number;
  /** Parameter types as last bound: an execute may omit them and reuse these. */
  types?: { type: number; unsigned: boolean }[];
}

/** The statement ID MariaDB reads as "the statement this connection prepared last" (execute-direct pipelining). */
export const LAST_PREPARED = 0xffffffff;

/**
 * The statements a session prepared, learned from COM_STMT_PREPARE and the server's PREPARE_OK, so that an execute's
 * parameters can be decoded (the packet does not say how many there are). Holds at most `max` statements, as the
 * server does with max_prepared_stmt_count.
 */
export class PreparedStatements {
  private readonly byId = new Map<number, Statement>();
  private readonly waiting: string[] = [];
  private last: number | undefined;
  constructor(private readonly max = 16_384) {}

  /** Notes a COM_STMT_PREPARE sent to the server; its answer comes back through `answered`. */
  preparing(sql: string): void {
    this.waiting.push(sql);
  }

  /** Reads the server's first answer to the oldest pending prepare: PREPARE_OK registers the statement, ERR drops it. */
  answered(payload: Buffer): void {
    const sql = this.waiting.shift();
    if (sql === undefined || payload[0] !== 0x00) return;
    const c = new Cursor(payload, 'COM_STMT_PREPARE_OK');
    c.u8();
    const id = c.u32();
    c.u16(); // columns
    const paramCount = c.u16();
    if (this.byId.size >= this.max && !this.byId.has(id)) {
      throw new LimitExceeded(`more than ${this.max} prepared statements in one session`, { protocol: 'mysql' });
    }
    this.byId.set(id, { sql, paramCount });
    this.last = id;
  }

  /** The statement `id` names (`LAST_PREPARED`: the one prepared last), if it is open. */
  get(id: number): Statement | undefined {
    return this.byId.get(id === LAST_PREPARED && this.last !== undefined ? this.last : id);
  }
  close(id: number): void {
    const real = id === LAST_PREPARED ? this.last : id;
    if (real === undefined) return;
    this.byId.delete(real);
    if (real === this.last) this.last = undefined;
  }
  get size(): number {
    return this.byId.size;
  }
}

function parseExecute(c: Cursor, statements: PreparedStatements): Command {
  const statementId = c.u32();
  const flags = c.u8();
  c.u32(); // iteration count, always 1
  const stmt = statements.get(statementId);
  if (!stmt) c.fail(`statement ${statementId} was never prepared in this session`);
  const params: BoundParam[] = [];
  if (stmt.paramCount > 0) {
    const nulls = c.bytes(Math.ceil(stmt.paramCount / 8));
    const newTypes = c.u8();
    if (newTypes === 1) {
      stmt.types = Array.from({ length: stmt.paramCount }, () => {
        const type = c.u8();
        return { type, unsigned: (c.u8() & 0x80) !== 0 };
      });
    } else if (newTypes !== 0) c.fail(`new-params-bound flag ${newTypes}`);
    if (!stmt.types) c.fail('parameter types were never sent for this statement');
    for (let i = 0; i < stmt.paramCount; i++) {
      const t = stmt.types[i]!;
      const isNull = (nulls[i >> 3]! & (1 << (i & 7))) !== 0;
      params.push({ ...t, value: isNull ? null : readBinaryValue(c, t.type, t.unsigned) });
    }
  }
  c.end();
  return { type: 'StmtExecute', statementId, flags, sql: stmt.sql, params };
}

/** Parses one command packet's payload; statement commands consult and update `statements`. */
export function parseCommand(payload: Buffer, statements: PreparedStatements): Command {
  const c = new Cursor(payload, 'command');
  const command = c.u8();
  const text = () => payload.toString('utf8', 1);
  switch (command) {
    case COM.QUIT:
      return { type: 'Quit' };
    case COM.PING:
      return { type: 'Ping' };
    case COM.INIT_DB:
      return { type: 'InitDb', database: text() };
    case COM.QUERY:
      return { type: 'Query', sql: text() };
    case COM.STMT_PREPARE: {
      const sql = text();
      statements.preparing(sql);
      return { type: 'StmtPrepare', sql };
    }
    case COM.CHANGE_USER:
      return { type: 'ChangeUser', username: new Cursor(payload.subarray(1), 'COM_CHANGE_USER').cstr() };
    case COM.STMT_EXECUTE:
      return parseExecute(new Cursor(payload.subarray(1), 'COM_STMT_EXECUTE'), statements);
    case COM.STMT_CLOSE: {
      const s = new Cursor(payload.subarray(1), 'COM_STMT_CLOSE');
      const statementId = s.u32();
      s.end();
      statements.close(statementId);
      return { type: 'StmtClose', statementId };
    }
    default:
      return { type: 'Other', command, body: payload.subarray(1) };
  }
}

/** MySQL error numbers and SQLSTATEs tp answers with. */
export const MYSQL_ERROR = {
  /** The user may not log in (ER_ACCESS_DENIED_ERROR). */
  accessDenied: { code: 1045, sqlState: '28000' },
  /** The user may not use this database (ER_DBACCESS_DENIED_ERROR). */
  dbAccessDenied: { code: 1044, sqlState: '42000' },
  /** The client broke the protocol (ER_NET_PACKETS_OUT_OF_ORDER's class; ER_UNKNOWN_COM_ERROR 1047). */
  badCommand: { code: 1047, sqlState: '08S01' },
} as const;

/** An ERR packet payload; mariadb prints it as `ERROR 1045 (28000): <message>`. */
export function buildErr(e: { code: number; sqlState: string }, message: string): Buffer {
  return new PayloadWriter()
    .u8(0xff)
    .u16(e.code)
    .bytes(Buffer.from(`#${e.sqlState}`, 'latin1'))
    .bytes(Buffer.from(message))
    .build();
}

/** Reads an ERR packet payload (protocol 4.1 form), or undefined when the payload is not one. */
export function parseErr(payload: Buffer): { code: number; sqlState: string; message: string } | undefined {
  if (payload[0] !== 0xff) return undefined;
  const c = new Cursor(payload, 'ERR');
  c.u8();
  const code = c.u16();
  const marker = payload[3] === 0x23; // '#'
  const sqlState = marker ? c.bytes(6).toString('latin1', 1) : '';
  return { code, sqlState, message: c.rest().toString() };
}

/** True when a payload is an OK packet (0x00; 0xFE with DEPRECATE_EOF ends a result set the same way). */
export function isOk(payload: Buffer): boolean {
  return payload[0] === 0x00 && payload.length >= 7;
}
