// Slow-path framing of the client's RDP PDUs: TPKT, the X.224 Data TPDU (02 F0 80), then a T.125 MCS PDU in PER.
// Only MCS Send Data Request (the one carrying user data) is taken apart; its user data can be replaced, every
// length on the way (PER, TPKT) recomputed.
import { BadParameter } from '../../core/errors.ts';

/** MCS DomainMCSPDU choices (T.125), as the first byte of the PER encoding (choice << 2). */
export const MCS_ERECT_DOMAIN = 0x04;
export const MCS_DISCONNECT_ULTIMATUM = 0x20;
export const MCS_ATTACH_USER = 0x28;
export const MCS_CHANNEL_JOIN = 0x38;
export const MCS_SEND_DATA_REQUEST = 0x64;
export const MCS_SEND_DATA_INDICATION = 0x68;
/** The BER application tag of MCS Connect-Initial (0x7F65). */
const CONNECT_INITIAL = 0x7f65;

/** A Send Data Request (client) or Indication (server): its fixed header (choice, initiator, channel, priority) and its user data. */
export interface SendData {
  header: Buffer;
  channelId: number;
  userData: Buffer;
}

/** What one slow-path PDU holds. */
export type SlowPath =
  | { kind: 'connect-initial' }
  | { kind: 'send-data'; data: SendData }
  | { kind: 'mcs'; choice: number }
  | { kind: 'x224'; code: number };

/** Takes apart one TPKT (`pdu`, its length already checked) far enough to tell what it carries. */
export function parseSlowPath(pdu: Buffer): SlowPath {
  if (pdu.length < 8 || pdu[4] !== 2 || pdu[5] !== 0xf0 || pdu[6] !== 0x80)
    return { kind: 'x224', code: pdu.length > 5 ? pdu[5]! & 0xf0 : 0 };
  const mcs = pdu.subarray(7);
  if (mcs.length >= 2 && mcs.readUInt16BE(0) === CONNECT_INITIAL) return { kind: 'connect-initial' };
  const choice = mcs[0]! & 0xfc;
  if (choice !== MCS_SEND_DATA_REQUEST && choice !== MCS_SEND_DATA_INDICATION) return { kind: 'mcs', choice };
  if (mcs.length < 7) throw new BadParameter('a truncated MCS Send Data Request');
  const b = mcs[6]!;
  let len: number;
  let at: number;
  if (b < 0x80) [len, at] = [b, 7];
  else if ((b & 0xc0) === 0x80 && mcs.length >= 8) [len, at] = [((b & 0x3f) << 8) | mcs[7]!, 8];
  else throw new BadParameter('an MCS Send Data Request with a fragmented or truncated length');
  if (at + len !== mcs.length) throw new BadParameter('an MCS Send Data Request whose length does not match its TPKT');
  return {
    kind: 'send-data',
    data: { header: mcs.subarray(0, 6), channelId: mcs.readUInt16BE(3), userData: mcs.subarray(at) },
  };
}

/** One TPKT + X.224 Data TPDU + MCS Send Data Request around `userData` (PER length in its shortest form). */
export function encodeSendData(header: Buffer, userData: Buffer): Buffer {
  const n = userData.length;
  if (n >= 0x4000) throw new BadParameter(`${n} bytes of MCS user data`);
  const per = n < 0x80 ? Buffer.from([n]) : Buffer.from([0x80 | (n >> 8), n & 0xff]);
  const out = Buffer.concat([Buffer.from([3, 0, 0, 0, 2, 0xf0, 0x80]), header, per, userData]);
  out.writeUInt16BE(out.length, 2);
  return out;
}

/** Share Control Header pduType of a Data PDU, and the Share Data Header pduType2 of an input PDU. */
const PDUTYPE_DATAPDU = 7;
const PDUTYPE2_INPUT = 0x1c;

/** True when `userData` is a slow-path TS_INPUT_PDU (share control header, share data header, pduType2 INPUT). */
export function isSlowPathInput(userData: Buffer): boolean {
  if (userData.length < 18) return false;
  const total = userData.readUInt16LE(0);
  return total !== 0x8000 && (userData.readUInt16LE(2) & 0x0f) === PDUTYPE_DATAPDU && userData[14] === PDUTYPE2_INPUT;
}
