/**
 * Typed errors shared by every tp module. Each carries a stable `code`; callers map codes to exit codes and HTTP
 * statuses here and nowhere else.
 */

import { terminalSafe } from './terminalText.ts';

export type ErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'compare_failed'
  | 'conflict'
  | 'bad_parameter'
  | 'access_denied'
  | 'unauthenticated'
  | 'limit_exceeded'
  | 'locked'
  | 'compacted'
  | 'unavailable'
  | 'cancelled'
  | 'internal';

/** Base class: a message for humans, a code for machines, optional context fields for logs (never secrets). */
export class TpError extends Error {
  readonly code: ErrorCode = 'internal';
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFound extends TpError {
  override readonly code = 'not_found';
}
export class AlreadyExists extends TpError {
  override readonly code = 'already_exists';
}
export class CompareFailed extends TpError {
  override readonly code = 'compare_failed';
}
/** The request clashes with the current state (a role still held by users, say); change that state first. */
export class Conflict extends TpError {
  override readonly code = 'conflict';
}
export class BadParameter extends TpError {
  override readonly code = 'bad_parameter';
}
export class AccessDenied extends TpError {
  override readonly code = 'access_denied';
}
export class Unauthenticated extends TpError {
  override readonly code = 'unauthenticated';
}
/** The server proved a cluster identity other than the one the client meant to reach (a node posing as the proxy). */
export class WrongServer extends Unauthenticated {}
export class LimitExceeded extends TpError {
  override readonly code = 'limit_exceeded';
}
export class Locked extends TpError {
  override readonly code = 'locked';
}
/** A watch asked to resume from a revision the backend no longer keeps; the caller must re-read and watch anew. */
export class Compacted extends TpError {
  override readonly code = 'compacted';
}
export class Unavailable extends TpError {
  override readonly code = 'unavailable';
}
/**
 * A stored record is not what its reader expects (not JSON, or a field of the wrong shape): a corrupt row, or one
 * written by another version. Names the key; an internal error to callers (the row needs an operator).
 */
export class CorruptRecord extends TpError {}
/** The person at the terminal gave up (Ctrl+C at a prompt). */
export class Cancelled extends TpError {
  override readonly code = 'cancelled';
}

const httpStatus: Record<ErrorCode, number> = {
  not_found: 404,
  already_exists: 409,
  compare_failed: 409,
  conflict: 409,
  bad_parameter: 400,
  access_denied: 403,
  unauthenticated: 401,
  limit_exceeded: 429,
  locked: 423,
  compacted: 410,
  unavailable: 503,
  cancelled: 499,
  internal: 500,
};

/**
 * The CLI's exit codes (README "Exit codes" keeps the same table; test/cliContract.e2e.test.ts runs each case):
 * 1 unexpected failure, 2 bad input (unknown flag or command, missing argument, bad value), 3 not found,
 * 4 already exists or conflicts with the current state, 5 refused (wrong password or code, access denied, locked),
 * 6 login needed (no profile, expired certificate, no terminal to ask), 7 rate limited, 8 cannot reach the cluster,
 * 130 cancelled at a prompt. `tp ssh` and `tp scp` pass the remote status through and use 255 for their own failures.
 */
const exitCodes: Record<ErrorCode, number> = {
  not_found: 3,
  already_exists: 4,
  compare_failed: 4,
  conflict: 4,
  bad_parameter: 2,
  access_denied: 5,
  unauthenticated: 6,
  limit_exceeded: 7,
  locked: 5,
  compacted: 1,
  unavailable: 8,
  cancelled: 130,
  internal: 1,
};

const byCode: Record<ErrorCode, new (message: string, context?: Record<string, unknown>) => TpError> = {
  not_found: NotFound,
  already_exists: AlreadyExists,
  compare_failed: CompareFailed,
  conflict: Conflict,
  bad_parameter: BadParameter,
  access_denied: AccessDenied,
  unauthenticated: Unauthenticated,
  limit_exceeded: LimitExceeded,
  locked: Locked,
  compacted: Compacted,
  unavailable: Unavailable,
  cancelled: Cancelled,
  internal: TpError,
};

/** HTTP status for an error; unknown errors are 500. */
export function statusOf(err: unknown): number {
  return err instanceof TpError ? httpStatus[err.code] : 500;
}

/** Process exit code for an error; unknown errors are 1. */
export function exitCodeOf(err: unknown): number {
  return err instanceof TpError ? exitCodes[err.code] : 1;
}

/** Rebuilds a typed error from its wire form (`{code, message}`), so API clients throw what the server threw. */
export function errorFromWire(code: string, message: string): TpError {
  const ctor = byCode[code as ErrorCode] ?? TpError;
  return new ctor(message);
}

/** A short, single-line description of any thrown value, with no terminal control in it (messages quote peers). */
export function describe(err: unknown): string {
  if (err instanceof Error) return terminalSafe(err.message.split('\n')[0] ?? err.name);
  return terminalSafe(String(err));
}

/** True when a connection failed because the peer's certificate did not verify (unknown or rotated-out CA). */
export function isCertificateError(err: unknown): boolean {
  if (err instanceof WrongServer) return false;
  return /certificate|self[- ]signed|UNABLE_TO|CERT_/i.test(describe(err));
}
