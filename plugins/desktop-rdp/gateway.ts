// The RDCleanPath exchange with the browser: its one request PDU, framed by its DER length and capped, and the error
// answer a refusal becomes (IronRDP's error PDU has no text: an HTTP status, a socket error or a TLS alert).

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { AccessDenied, BadParameter } from '../../core/errors.ts';
import {
  type CleanPathError,
  type CleanPathRequest,
  decodeRequest,
  GENERAL_ERROR,
  requestSize,
} from './rdcleanpath.ts';
import { UpstreamFailed } from './upstream.ts';

/** Reads and decodes the browser's RDCleanPath request; throws BadParameter for an oversize or malformed one. */
export async function readCleanPathRequest(r: ByteReader): Promise<CleanPathRequest> {
  let head = await r.read(2);
  let size = requestSize(head);
  for (let i = 0; i < 3 && size === undefined; i++) {
    head = Buffer.concat([head, await r.read(1)]);
    size = requestSize(head);
  }
  if (size === undefined) throw new BadParameter('the RDCleanPath request has no length');
  return decodeRequest(Buffer.concat([head, await r.read(size - head.length)]));
}

/** The RDCleanPath error for a refusal: the server's own answer, 403 for the roles, 400 for a bad request, else 500. */
export function answerFor(err: unknown): CleanPathError {
  if (err instanceof UpstreamFailed) return err.answer;
  if (err instanceof AccessDenied) return { code: GENERAL_ERROR, httpStatus: 403 };
  if (err instanceof BadParameter) return { code: GENERAL_ERROR, httpStatus: 400 };
  return { code: GENERAL_ERROR, httpStatus: 500 };
}
