/** The ERR packets the agent answers a client with itself, one MySQL error number per kind of refusal. */

import type { Writable } from 'node:stream';
import { AccessDenied, BadParameter, LimitExceeded, TpError, Unavailable } from '../../../core/errors.ts';
import { buildErr, framePacket, MYSQL_ERROR } from '../wire.ts';

/** Error numbers and SQLSTATEs beyond the codec's (`MYSQL_ERROR`), as MySQL clients know them. */
export const AGENT_ERROR = {
  ...MYSQL_ERROR,
  /** ER_HANDSHAKE_ERROR: the client's handshake made no sense. */
  badHandshake: { code: 1043, sqlState: '08S01' },
  /** ER_NET_PACKET_TOO_LARGE. */
  packetTooLarge: { code: 1153, sqlState: '08S01' },
  /**
   * The server, auth or the certificate could not be reached: ER_UNKNOWN_ERROR with tp's reason. Not a client-side
   * CR_* number (CR_CONN_HOST_ERROR 2003): libmariadb reads one from the wire as "Received malformed packet".
   */
  unreachable: { code: 1105, sqlState: 'HY000' },
  /** ER_CONNECTION_KILLED: the session was ended (a lock, the certificate's expiry, the agent stopping). */
  connectionKilled: { code: 1927, sqlState: '70100' },
  /** ER_UNKNOWN_ERROR. */
  internal: { code: 1105, sqlState: 'HY000' },
} as const;

/** A refusal tp decided: the error number to answer with, beside the usual typed error. */
export class DatabaseAccessDenied extends AccessDenied {
  constructor(
    message: string,
    readonly mysql: { code: number; sqlState: string },
    context: Record<string, unknown> = {},
  ) {
    super(message, context);
  }
}

/** The error number a failure is reported to the client with. */
export function mysqlErrorOf(err: unknown): { code: number; sqlState: string } {
  if (err instanceof DatabaseAccessDenied) return err.mysql;
  if (err instanceof AccessDenied) return AGENT_ERROR.accessDenied;
  if (err instanceof LimitExceeded) return AGENT_ERROR.packetTooLarge;
  if (err instanceof BadParameter) return AGENT_ERROR.badHandshake;
  if (err instanceof Unavailable) return AGENT_ERROR.unreachable;
  return AGENT_ERROR.internal;
}

/** The text of a failure, as the client shows it after `ERROR nnnn (SQLSTATE): `. */
export function messageOf(err: unknown): string {
  return err instanceof TpError || err instanceof Error ? err.message : String(err);
}

/** Writes an ERR packet (`tp: <message>`) with sequence id `seq`; a closed client is left alone. */
export function writeErr(client: Writable, seq: number, err: unknown): void {
  if (client.destroyed || client.writableEnded) return;
  client.write(framePacket(buildErr(mysqlErrorOf(err), `tp: ${messageOf(err)}`), seq));
}
