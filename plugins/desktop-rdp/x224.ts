// The X.224 connection PDUs RDP opens with (MS-RDPBCGR 2.2.1.1 and 2.2.1.2), each in a TPKT: the client's Connection
// Request with its RDP_NEG_REQ (requestedProtocols), and the server's Connection Confirm with RDP_NEG_RSP
// (selectedProtocol) or RDP_NEG_FAILURE.
import { BadParameter } from '../../core/errors.ts';

/** requestedProtocols / selectedProtocol bits. */
export const PROTOCOL_RDP = 0;
export const PROTOCOL_SSL = 1;
export const PROTOCOL_HYBRID = 2;
export const PROTOCOL_HYBRID_EX = 8;

const CR = 0xe0;
const CC = 0xd0;
const NEG_REQ = 1;
const NEG_RSP = 2;
const NEG_FAILURE = 3;

/** A TPKT's total length from its 4-byte header; throws BadParameter unless it is version 3 and at least `min`. */
export function tpktLength(head: Buffer, min = 7): number {
  if (head[0] !== 3) throw new BadParameter(`not a TPKT (first byte 0x${head[0]!.toString(16)})`);
  const len = head.readUInt16BE(2);
  if (len < min) throw new BadParameter(`a ${len}-byte TPKT`);
  return len;
}

/** Checks `pdu` is one TPKT holding an X.224 TPDU of `code` that fills it; throws BadParameter otherwise. */
function checkTpdu(pdu: Buffer, code: number, what: string): void {
  if (pdu.length < 11 || tpktLength(pdu, 11) !== pdu.length)
    throw new BadParameter(`${what}: the TPKT length does not match`);
  if (pdu[4] !== pdu.length - 5 || (pdu[5]! & 0xf0) !== code)
    throw new BadParameter(`${what}: not an X.224 ${code === CR ? 'Connection Request' : 'Connection Confirm'}`);
}

/** Where `pdu`'s 8-byte RDP_NEG_* structure of `type` starts (it ends the PDU), or -1 when there is none. */
function negAt(pdu: Buffer, type: number): number {
  const at = pdu.length - 8;
  return at >= 11 && pdu[at] === type && pdu.readUInt16LE(at + 2) === 8 ? at : -1;
}

/**
 * The client's Connection Request with requestedProtocols set to `protocols` (an RDP_NEG_REQ is added when the
 * client sent none); throws BadParameter when `pdu` is not one well-formed Connection Request.
 */
export function withRequestedProtocols(pdu: Buffer, protocols: number): Buffer {
  checkTpdu(pdu, CR, 'the X.224 Connection Request');
  const at = negAt(pdu, NEG_REQ);
  if (at >= 0) {
    const out = Buffer.from(pdu);
    out.writeUInt32LE(protocols, at + 4);
    return out;
  }
  const neg = Buffer.alloc(8);
  neg.writeUInt8(NEG_REQ, 0);
  neg.writeUInt16LE(8, 2);
  neg.writeUInt32LE(protocols, 4);
  const out = Buffer.concat([pdu, neg]);
  out.writeUInt16BE(out.length, 2);
  out[4] = out.length - 5;
  return out;
}

/** The client's requestedProtocols (PROTOCOL_RDP when it sent no RDP_NEG_REQ). */
export function requestedProtocols(pdu: Buffer): number {
  checkTpdu(pdu, CR, 'the X.224 Connection Request');
  const at = negAt(pdu, NEG_REQ);
  return at < 0 ? PROTOCOL_RDP : pdu.readUInt32LE(at + 4);
}

/** What the server's Connection Confirm says: the protocol it selected, or its failure code. */
export type Confirm = { selected: number } | { failure: number };

/** Reads the server's Connection Confirm; throws BadParameter when `pdu` is not one. */
export function parseConfirm(pdu: Buffer): Confirm {
  checkTpdu(pdu, CC, 'the X.224 Connection Confirm');
  const failed = negAt(pdu, NEG_FAILURE);
  if (failed >= 0) return { failure: pdu.readUInt32LE(failed + 4) };
  const at = negAt(pdu, NEG_RSP);
  return { selected: at < 0 ? PROTOCOL_RDP : pdu.readUInt32LE(at + 4) };
}

/** RDP_NEG_FAILURE codes in words (MS-RDPBCGR 2.2.1.2.2). */
export function failureText(code: number): string {
  const known: Record<number, string> = {
    1: 'it requires TLS (SSL_REQUIRED_BY_SERVER)',
    2: 'it does not allow TLS (SSL_NOT_ALLOWED_BY_SERVER)',
    3: 'it has no certificate for TLS (SSL_CERT_NOT_ON_SERVER)',
    4: 'inconsistent flags (INCONSISTENT_FLAGS)',
    5: 'it requires NLA, CredSSP (HYBRID_REQUIRED_BY_SERVER)',
    6: 'it requires TLS with user authentication (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)',
  };
  return known[code] ?? `failure code ${code}`;
}
