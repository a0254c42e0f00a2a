// The static virtual channels a client asks for, in the CS_NET block of its MCS Connect-Initial (T.125 BER around a
// T.124 GCC Conference Create Request in PER, MS-RDPBCGR 2.2.1.3). When the roles deny the clipboard the agent
// renames the clipboard channel ("cliprdr") there, so the server never opens a clipboard channel: no clipboard data
// is served in either direction. The name keeps its length, so no other length changes.
import { BadParameter } from '../../core/errors.ts';

/** What the clipboard channel is renamed to: a name no RDP server serves (8 bytes with its NUL). */
export const DISABLED_CHANNEL = 'tp-nclp';
const CLIPBOARD = 'cliprdr';
/** The T.124 key and ConferenceCreateRequest header every RDP client sends, then the H.221 key "Duca". */
const GCC_KEY = Buffer.from('000500147c0001', 'hex');
const CCR_HEAD = Buffer.from('000800100001c00044756361', 'hex');
const CS_NET = 0xc003;

/** One BER element at `at`: where its value starts and ends. */
function ber(buf: Buffer, at: number, tagBytes = 1): { start: number; end: number } {
  let p = at + tagBytes;
  let len = buf[p++]!;
  if (len === 0x81) len = buf[p++]!;
  else if (len === 0x82) {
    len = buf.readUInt16BE(p);
    p += 2;
  } else if (len >= 0x80) throw new BadParameter('MCS Connect-Initial: an unsupported BER length');
  if (p + len > buf.length) throw new BadParameter('MCS Connect-Initial: an element runs past the PDU');
  return { start: p, end: p + len };
}

/** A PER length at `at` (one byte, or two with the top bit set): its value and where the data starts. */
function per(buf: Buffer, at: number): { len: number; start: number } {
  const b = buf[at]!;
  return b & 0x80 ? { len: ((b & 0x3f) << 8) | buf[at + 1]!, start: at + 2 } : { len: b, start: at + 1 };
}

/** Where the client data blocks of the Connect-Initial TPKT `pdu` lie; BadParameter unless the canonical shape. */
function clientBlocks(pdu: Buffer): { start: number; end: number } {
  const mcs = 7;
  if (pdu.readUInt16BE(mcs) !== 0x7f65) throw new BadParameter('not an MCS Connect-Initial');
  const outer = ber(pdu, mcs, 2);
  let at = outer.start;
  const expect = [0x04, 0x04, 0x01, 0x30, 0x30, 0x30];
  for (const tag of expect) {
    if (pdu[at] !== tag) throw new BadParameter('MCS Connect-Initial: unexpected fields');
    at = ber(pdu, at).end;
  }
  if (pdu[at] !== 0x04) throw new BadParameter('MCS Connect-Initial: no user data');
  const ud = ber(pdu, at);
  if (ud.end !== outer.end || outer.end !== pdu.length)
    throw new BadParameter('MCS Connect-Initial: lengths do not match');
  if (!pdu.subarray(ud.start, ud.start + 7).equals(GCC_KEY)) throw new BadParameter('GCC: not the T.124 key');
  // The connectPDU length is not checked: clients disagree on it (IronRDP leaves out the 2 bytes of the client data
  // length, mstsc counts them); the client data length that follows the fixed header is what servers read.
  const ccr = per(pdu, ud.start + 7);
  if (!pdu.subarray(ccr.start, ccr.start + 12).equals(CCR_HEAD))
    throw new BadParameter('GCC: not a Conference Create Request from an RDP client');
  const blocks = per(pdu, ccr.start + 12);
  if (blocks.start + blocks.len !== ud.end) throw new BadParameter('GCC: the client data length does not match');
  return { start: blocks.start, end: ud.end };
}

/** The channel names of the CS_NET block in the Connect-Initial TPKT `pdu` (none without one), in order. */
export function channelNames(pdu: Buffer): string[] {
  return channelDefs(pdu).map((at) => name(pdu, at));
}

function name(pdu: Buffer, at: number): string {
  const raw = pdu.subarray(at, at + 8);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? 8 : nul).toString('latin1');
}

/** Where each CHANNEL_DEF of the CS_NET block starts. */
function channelDefs(pdu: Buffer): number[] {
  const { start, end } = clientBlocks(pdu);
  for (let at = start; at + 4 <= end; ) {
    const type = pdu.readUInt16LE(at);
    const len = pdu.readUInt16LE(at + 2);
    if (len < 4 || at + len > end) throw new BadParameter('GCC: a client data block runs past the PDU');
    if (type === CS_NET) {
      const count = len >= 8 ? pdu.readUInt32LE(at + 4) : 0;
      if (count > 31 || 8 + 12 * count > len) throw new BadParameter(`CS_NET: ${count} channels`);
      return Array.from({ length: count }, (_, i) => at + 8 + 12 * i);
    }
    at += len;
  }
  return [];
}

/**
 * The Connect-Initial TPKT `pdu` with every channel named "cliprdr" (any case) renamed DISABLED_CHANNEL; throws
 * BadParameter when the PDU is not the canonical shape every RDP client sends (so nothing unparsed passes).
 */
export function withoutClipboard(pdu: Buffer): Buffer {
  const out = Buffer.from(pdu);
  for (const at of channelDefs(out)) {
    if (name(out, at).toLowerCase() === CLIPBOARD) out.write(`${DISABLED_CHANNEL}\0`, at, 8, 'latin1');
  }
  return out;
}
