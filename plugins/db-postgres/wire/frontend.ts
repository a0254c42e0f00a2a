/**
 * The client → server half of the PostgreSQL protocol 3.0 (the "frontend" messages): an incremental parser that
 * turns received chunks into whole typed messages, each with its raw bytes so a relay can forward it unchanged.
 */

import { BadParameter, LimitExceeded } from '../../../core/errors.ts';
import { StreamParser } from '../../../core/net/streamParser.ts';
import { Cursor } from './cursor.ts';

/** Request codes of the untyped packets a client may send first. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
/** Protocol 3.0 as a StartupMessage writes it (major << 16 | minor). */
export const PROTOCOL_3_0 = 196608;

/** A parameter value of a Bind: text or binary bytes as sent, or SQL NULL. */
export type BindValue = Buffer | null;

/** One message from the client. `raw` is the exact bytes received, header included. */
export type FrontendMessage = { raw: Buffer } & (
  | { type: 'SSLRequest' }
  | { type: 'GSSENCRequest' }
  | { type: 'CancelRequest'; pid: number; secret: Buffer }
  | { type: 'StartupMessage'; major: number; minor: number; params: Record<string, string> }
  | { type: 'Query'; sql: string }
  | { type: 'Parse'; statement: string; sql: string; paramTypes: number[] }
  | {
      type: 'Bind';
      portal: string;
      statement: string;
      /** Per-parameter format codes as sent: none = all text, one = all alike, else one each (0 text, 1 binary). */
      paramFormats: number[];
      values: BindValue[];
      resultFormats: number[];
    }
  | { type: 'Execute'; portal: string; maxRows: number }
  | { type: 'Describe'; target: 'S' | 'P'; name: string }
  | { type: 'Close'; target: 'S' | 'P'; name: string }
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; reason: string }
  /** PasswordMessage, SASLInitialResponse or SASLResponse: what it holds depends on the auth exchange; relayed as is. */
  | { type: 'Password'; body: Buffer }
  /** A message type this parser does not interpret (FunctionCall 'F', ...): the relay decides. */
  | { type: 'Other'; code: string; body: Buffer }
);

/** Size limits; each message is refused as soon as its header announces more. */
export interface FrontendLimits {
  /** Startup-phase packets (StartupMessage with its parameters). Default 64 KiB. */
  maxStartupLength?: number;
  /** Any typed message (a Query, a Bind's values, one CopyData). Default 1 GiB, PostgreSQL's own ceiling. */
  maxMessageLength?: number;
}

/**
 * PostgreSQL's own caps for kinds that are never large: a few names at most (PQ_SMALL_MESSAGE_LIMIT), and an auth
 * token (PG_MAX_AUTH_TOKEN_LENGTH), so nobody makes the relay buffer a gigabyte before the server has said yes.
 */
const CAPS: Record<string, number> = {
  E: 10_000,
  D: 10_000,
  C: 10_000,
  S: 10_000,
  H: 10_000,
  X: 10_000,
  c: 10_000,
  p: 65_535,
};
const EMPTY = new Set(['S', 'H', 'X', 'c']);

/** Reads a Bind body. */
function parseBind(c: Cursor) {
  const portal = c.cstr();
  const statement = c.cstr();
  const paramFormats = Array.from({ length: nonNegative(c, c.i16()) }, () => formatCode(c, c.i16()));
  const values = Array.from({ length: nonNegative(c, c.i16()) }, (): BindValue => {
    const n = c.i32();
    if (n === -1) return null;
    if (n < 0) c.fail(`parameter length ${n}`);
    return c.bytes(n);
  });
  if (paramFormats.length > 1 && paramFormats.length !== values.length) {
    c.fail(`${paramFormats.length} format codes for ${values.length} parameters`);
  }
  const resultFormats = Array.from({ length: nonNegative(c, c.i16()) }, () => formatCode(c, c.i16()));
  return { type: 'Bind' as const, portal, statement, paramFormats, values, resultFormats };
}

function nonNegative(c: Cursor, n: number): number {
  if (n < 0) c.fail(`negative count ${n}`);
  return n;
}
function formatCode(c: Cursor, f: number): number {
  if (f !== 0 && f !== 1) c.fail(`format code ${f}`);
  return f;
}
function target(c: Cursor): 'S' | 'P' {
  const t = String.fromCharCode(c.u8());
  if (t !== 'S' && t !== 'P') c.fail(`target "${t}" is neither S nor P`);
  return t;
}

const NAMES: Record<string, string> = {
  Q: 'Query',
  P: 'Parse',
  B: 'Bind',
  E: 'Execute',
  D: 'Describe',
  C: 'Close',
  S: 'Sync',
  H: 'Flush',
  X: 'Terminate',
  d: 'CopyData',
  c: 'CopyDone',
  f: 'CopyFail',
  p: 'Password',
};

/** Decodes one typed message body (the type byte and length already read). */
function parseTyped(code: string, body: Buffer, raw: Buffer): FrontendMessage {
  const c = new Cursor(body, NAMES[code] ?? `message "${code}"`);
  let m: FrontendMessage;
  switch (code) {
    case 'Q':
      m = { raw, type: 'Query', sql: c.cstr() };
      break;
    case 'P': {
      const statement = c.cstr();
      const sql = c.cstr();
      const paramTypes = Array.from({ length: nonNegative(c, c.i16()) }, () => c.i32() >>> 0);
      m = { raw, type: 'Parse', statement, sql, paramTypes };
      break;
    }
    case 'B':
      m = { raw, ...parseBind(c) };
      break;
    case 'E':
      m = { raw, type: 'Execute', portal: c.cstr(), maxRows: c.i32() };
      break;
    case 'D':
    case 'C':
      m = { raw, type: code === 'D' ? 'Describe' : 'Close', target: target(c), name: c.cstr() };
      break;
    case 'S':
    case 'H':
    case 'X':
    case 'c':
      m = { raw, type: NAMES[code] as 'Sync' | 'Flush' | 'Terminate' | 'CopyDone' };
      break;
    case 'd':
      return { raw, type: 'CopyData', data: body };
    case 'f':
      m = { raw, type: 'CopyFail', reason: c.cstr() };
      break;
    case 'p':
      return { raw, type: 'Password', body };
    default:
      return { raw, type: 'Other', code, body };
  }
  c.end();
  return m;
}

/** Decodes one whole startup-phase packet (its length already checked with `checkStartupHeader`). */
export function parseStartup(raw: Buffer): FrontendMessage {
  const code = raw.readInt32BE(4);
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
    const type = code === SSL_REQUEST_CODE ? 'SSLRequest' : 'GSSENCRequest';
    if (raw.length !== 8) new Cursor(raw, type).fail(`length ${raw.length}, not 8`);
    return { raw, type };
  }
  if (code === CANCEL_REQUEST_CODE) {
    // Protocol 3.0 keys are 4 bytes; 3.2 (PostgreSQL 18) allows up to 256.
    if (raw.length < 16 || raw.length > 12 + 256) new Cursor(raw, 'CancelRequest').fail(`length ${raw.length}`);
    return { raw, type: 'CancelRequest', pid: raw.readInt32BE(8), secret: raw.subarray(12) };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    throw new BadParameter(`unsupported PostgreSQL protocol ${major}.${minor} (tp speaks 3.x)`, {
      protocol: 'postgres',
    });
  }
  const c = new Cursor(raw.subarray(8), 'StartupMessage');
  const params: Record<string, string> = Object.create(null);
  for (;;) {
    const name = c.cstr();
    if (name === '') break;
    if (name in params) c.fail(`parameter "${name}" given twice`);
    params[name] = c.cstr();
  }
  c.end();
  return { raw, type: 'StartupMessage', major, minor, params };
}

/**
 * Turns the client's byte stream into messages. Starts in the startup phase (untyped packets); a StartupMessage
 * moves it to typed messages. Truncated input waits for more; a malformed or oversized message throws a
 * BadParameter or LimitExceeded, after which the parser refuses all further input (the stream cannot be resynced).
 */
export class FrontendParser extends StreamParser<FrontendMessage> {
  private startup = true;
  private readonly maxStartup: number;
  private readonly maxMessage: number;

  constructor(limits: FrontendLimits = {}) {
    super();
    this.maxStartup = limits.maxStartupLength ?? 64 * 1024;
    this.maxMessage = limits.maxMessageLength ?? 1024 ** 3;
  }

  /** True until a StartupMessage has been parsed. */
  get inStartup(): boolean {
    return this.startup;
  }

  protected next(): FrontendMessage | undefined {
    if (this.startup) {
      const head = this.queue.peek(4);
      if (!head) return undefined;
      const raw = this.queue.take(checkStartupHeader(head, this.maxStartup));
      if (!raw) return undefined;
      const m = parseStartup(raw);
      if (m.type === 'StartupMessage') this.startup = false;
      return m;
    }
    const head = this.queue.peek(5);
    if (!head) return undefined;
    const { code, length } = checkTypedHeader(head, this.maxMessage);
    const raw = this.queue.take(length + 1);
    if (!raw) return undefined;
    return parseTyped(code, raw.subarray(5), raw);
  }
}

/** The length a startup-phase packet's 4-byte header announces; throws BadParameter below 8, LimitExceeded past `max`. */
export function checkStartupHeader(head: Uint8Array, max: number): number {
  const len = Buffer.from(head.buffer, head.byteOffset, 4).readInt32BE(0);
  if (len < 8) throw new BadParameter(`malformed PostgreSQL startup packet: length ${len}`, { protocol: 'postgres' });
  if (len > max) {
    throw new LimitExceeded(`PostgreSQL startup packet of ${len} bytes exceeds the limit of ${max}`, {
      protocol: 'postgres',
      length: len,
    });
  }
  return len;
}

/**
 * Reads a typed message's 5-byte header (type, int32 length) and returns them, or throws BadParameter for a
 * malformed length and LimitExceeded past the type's cap (PostgreSQL's own for small kinds, else `maxMessage`).
 */
export function checkTypedHeader(head: Uint8Array, maxMessage: number): { code: string; length: number } {
  const code = String.fromCharCode(head[0]!);
  const len = Buffer.from(head.buffer, head.byteOffset, 5).readInt32BE(1);
  const name = NAMES[code] ?? `message "${code}"`;
  if (len < 4 || (EMPTY.has(code) && len !== 4)) {
    throw new BadParameter(`malformed PostgreSQL ${name}: length ${len}`, { protocol: 'postgres', message: code });
  }
  const limit = Math.min(CAPS[code] ?? maxMessage, maxMessage);
  if (len > limit) {
    throw new LimitExceeded(`PostgreSQL ${name} of ${len} bytes exceeds the limit of ${limit}`, {
      protocol: 'postgres',
      message: code,
      length: len,
    });
  }
  return { code, length: len };
}

/** Decodes one whole typed message (`raw`: the type byte, the length and the body, as `checkTypedHeader` framed it). */
export function parseTypedMessage(raw: Buffer): FrontendMessage {
  return parseTyped(String.fromCharCode(raw[0]!), raw.subarray(5), raw);
}

/** The format (0 text, 1 binary) of a Bind's parameter `i`, by the protocol's none/one/each rule. */
export function bindParamFormat(paramFormats: number[], i: number): number {
  return paramFormats.length === 0 ? 0 : paramFormats.length === 1 ? paramFormats[0]! : (paramFormats[i] ?? 0);
}
