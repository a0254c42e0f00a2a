/** The PostgreSQL messages tp itself writes: to the client (refusals, the SSL answer) and to the server (startup). */

import { MessageWriter } from './cursor.ts';
import { CANCEL_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE } from './frontend.ts';

/** SQLSTATE codes tp answers with. */
export const SQLSTATE = {
  /** The user or database is not allowed (invalid_authorization_specification). */
  invalidAuthorization: '28000',
  /** Allowed in, but not to do this (insufficient_privilege). */
  insufficientPrivilege: '42501',
  /** The client broke the protocol (a malformed or oversized message). */
  protocolViolation: '08P01',
  /** tp could not reach the database server or get a credential for it (connection_failure). */
  connectionFailure: '08006',
  /** The connection ended from our side (admin_shutdown: certificate expired, lock). */
  adminShutdown: '57P01',
} as const;

/** The one-byte answer to SSLRequest or GSSENCRequest that says "no": the client goes on in plain text. */
export const ENCRYPTION_REFUSED = Buffer.from('N');

/** An SSLRequest, as tp's agent sends it before TLS to the server. */
export function sslRequest(): Buffer {
  return new MessageWriter().i32(SSL_REQUEST_CODE).frame();
}

/** A protocol 3.0 StartupMessage with the given parameters (user, database, application_name, options, ...). */
export function startupMessage(params: Record<string, string>): Buffer {
  const w = new MessageWriter().i32(PROTOCOL_3_0);
  for (const [k, v] of Object.entries(params)) w.cstr(k).cstr(v);
  return w.u8(0).frame();
}

/** A CancelRequest for the backend `pid` with its secret key. */
export function cancelRequest(pid: number, secret: Uint8Array): Buffer {
  return new MessageWriter().i32(CANCEL_REQUEST_CODE).i32(pid).bytes(secret).frame();
}

/** BackendKeyData: the key a client quotes in a CancelRequest (tp hands out its own in place of the server's). */
export function backendKeyData(pid: number, secret: Uint8Array): Buffer {
  return new MessageWriter().i32(pid).bytes(secret).frame('K');
}

/** A simple Query. */
export function query(sql: string): Buffer {
  return new MessageWriter().cstr(sql).frame('Q');
}

/** Terminate: the polite end of a session. */
export function terminate(): Buffer {
  return new MessageWriter().frame('X');
}

/** What an ErrorResponse tp writes says. `severity` defaults to FATAL (psql prints "FATAL:  <message>"). */
export interface ErrorSpec {
  code: string;
  message: string;
  severity?: 'FATAL' | 'ERROR';
  detail?: string;
  hint?: string;
}

/** An ErrorResponse as psql and drivers show it: severity (localized and not), SQLSTATE, message, detail, hint. */
export function errorResponse(e: ErrorSpec): Buffer {
  const severity = e.severity ?? 'FATAL';
  const w = new MessageWriter();
  const field = (code: string, value: string) => w.u8(code.charCodeAt(0)).cstr(value.replaceAll('\0', ''));
  field('S', severity);
  field('V', severity);
  field('C', e.code);
  field('M', e.message);
  if (e.detail) field('D', e.detail);
  if (e.hint) field('H', e.hint);
  return w.u8(0).frame('E');
}
