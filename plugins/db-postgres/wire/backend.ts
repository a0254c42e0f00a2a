/**
 * The server → client half of the PostgreSQL protocol 3.0, as far as a relay must read it: authentication requests,
 * the cancel key, parameter status, ready-for-query, errors and notices. Everything else (rows, descriptions,
 * command tags, COPY) comes back as `Other` with its raw bytes, to be forwarded untouched.
 */

import { BadParameter, LimitExceeded } from '../../../core/errors.ts';
import { StreamParser } from '../../../core/net/streamParser.ts';
import { Cursor } from './cursor.ts';

/** The Authentication request kinds (the int32 after 'R'). */
export const AUTH = {
  ok: 0,
  kerberosV5: 2,
  cleartextPassword: 3,
  md5Password: 5,
  gss: 7,
  gssContinue: 8,
  sspi: 9,
  sasl: 10,
  saslContinue: 11,
  saslFinal: 12,
} as const;

/** ErrorResponse/NoticeResponse fields by their one-letter codes (S severity, C SQLSTATE, M message, D detail, ...). */
export type ErrorFields = Record<string, string>;

/** One message from the server. `raw` is the exact bytes received, header included. */
export type BackendMessage = { raw: Buffer } & (
  | {
      type: 'Authentication';
      /** One of AUTH. */
      kind: number;
      /** md5: the 4-byte salt; SASL: the mechanism list (in `mechanisms`); SASLContinue/Final: the server's data. */
      data: Buffer;
      mechanisms?: string[];
    }
  | { type: 'BackendKeyData'; pid: number; secret: Buffer }
  | { type: 'ParameterStatus'; name: string; value: string }
  | { type: 'ReadyForQuery'; status: 'I' | 'T' | 'E' }
  | { type: 'ErrorResponse'; fields: ErrorFields }
  | { type: 'NoticeResponse'; fields: ErrorFields }
  | { type: 'Other'; code: string; body: Buffer }
);

/** Reads ErrorResponse/NoticeResponse fields up to the terminating NUL. */
export function parseFields(c: Cursor): ErrorFields {
  const fields: ErrorFields = Object.create(null);
  for (;;) {
    const code = c.u8();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = c.cstr();
  }
  c.end();
  return fields;
}

function parseAuthentication(c: Cursor, raw: Buffer): BackendMessage {
  const kind = c.i32();
  if (kind === AUTH.sasl) {
    const mechanisms: string[] = [];
    for (let m = c.cstr(); m !== ''; m = c.cstr()) mechanisms.push(m);
    c.end();
    return { raw, type: 'Authentication', kind, data: Buffer.alloc(0), mechanisms };
  }
  const data = c.rest();
  if (kind === AUTH.md5Password && data.length !== 4) c.fail(`MD5 salt of ${data.length} bytes`);
  if ((kind === AUTH.ok || kind === AUTH.cleartextPassword) && data.length) c.fail('unexpected data');
  return { raw, type: 'Authentication', kind, data };
}

function parseBackend(code: string, body: Buffer, raw: Buffer): BackendMessage {
  switch (code) {
    case 'R':
      return parseAuthentication(new Cursor(body, 'Authentication'), raw);
    case 'K': {
      const c = new Cursor(body, 'BackendKeyData');
      const pid = c.i32();
      const secret = c.rest();
      if (secret.length < 4 || secret.length > 256) c.fail(`secret key of ${secret.length} bytes`);
      return { raw, type: 'BackendKeyData', pid, secret };
    }
    case 'S': {
      const c = new Cursor(body, 'ParameterStatus');
      const m = { raw, type: 'ParameterStatus' as const, name: c.cstr(), value: c.cstr() };
      c.end();
      return m;
    }
    case 'Z': {
      const c = new Cursor(body, 'ReadyForQuery');
      const status = String.fromCharCode(c.u8());
      c.end();
      if (status !== 'I' && status !== 'T' && status !== 'E') return c.fail(`status "${status}"`);
      return { raw, type: 'ReadyForQuery', status };
    }
    case 'E':
      return { raw, type: 'ErrorResponse', fields: parseFields(new Cursor(body, 'ErrorResponse')) };
    case 'N':
      return { raw, type: 'NoticeResponse', fields: parseFields(new Cursor(body, 'NoticeResponse')) };
    default:
      return { raw, type: 'Other', code, body };
  }
}

/** Types a relay interprets; all small. Rows and COPY data ('D', 'd') may be large. */
const SMALL = new Set(['R', 'K', 'S', 'Z', 'E', 'N']);

/**
 * Turns the server's byte stream (after TLS, from the first Authentication request on) into messages. Truncated
 * input waits for more; a malformed or oversized message throws BadParameter or LimitExceeded, and the parser then
 * refuses all further input. The one-byte answer to an SSLRequest comes before this stream and is not parsed here.
 */
export class BackendParser extends StreamParser<BackendMessage> {
  private readonly maxMessage: number;
  private readonly maxSmall: number;

  /** `maxMessageLength` caps rows and COPY data (default 1 GiB); interpreted types are capped at 64 KiB. */
  constructor(limits: { maxMessageLength?: number } = {}) {
    super();
    this.maxMessage = limits.maxMessageLength ?? 1024 ** 3;
    this.maxSmall = Math.min(64 * 1024, this.maxMessage);
  }

  protected next(): BackendMessage | undefined {
    const head = this.queue.peek(5);
    if (!head) return undefined;
    const code = String.fromCharCode(head[0]!);
    const len = head.readInt32BE(1);
    if (len < 4) throw new BadParameter(`malformed PostgreSQL server message "${code}": length ${len}`);
    const limit = SMALL.has(code) ? this.maxSmall : this.maxMessage;
    if (len > limit) {
      throw new LimitExceeded(`PostgreSQL server message "${code}" of ${len} bytes exceeds the limit of ${limit}`, {
        protocol: 'postgres',
        message: code,
        length: len,
      });
    }
    const raw = this.queue.take(len + 1);
    if (!raw) return undefined;
    return parseBackend(code, raw.subarray(5), raw);
  }
}
