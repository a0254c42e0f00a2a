// Counting what crosses the clipboard channel (MS-RDPECLIP) when the roles allow it: the channel's id comes from the
// client's CS_NET names and the server's SC_NET ids (same order); on that channel, the first chunk of each virtual
// channel message (CHANNEL_PDU_HEADER, MS-RDPBCGR 2.2.6.1.1) starts with a CLIPRDR_HEADER, and a successful
// CB_FORMAT_DATA_RESPONSE carries the clipboard data's length. Only lengths are read, never the data.
import { BadParameter } from '../../core/errors.ts';
import { DISABLED_CHANNEL } from './channels.ts';

const CHANNEL_FLAG_FIRST = 0x01;
const CHANNEL_PACKET_COMPRESSED = 0x00200000;
const CB_FORMAT_DATA_RESPONSE = 0x0005;
const CB_RESPONSE_OK = 0x0001;
const SC_NET = 0x0c03;

/** The clipboard data length a virtual channel chunk announces, or undefined when it is not a data response. */
export function clipboardDataLength(userData: Buffer): number | undefined {
  if (userData.length < 16) return undefined;
  const flags = userData.readUInt32LE(4);
  if (!(flags & CHANNEL_FLAG_FIRST) || flags & CHANNEL_PACKET_COMPRESSED) return undefined;
  if (userData.readUInt16LE(8) !== CB_FORMAT_DATA_RESPONSE || !(userData.readUInt16LE(10) & CB_RESPONSE_OK))
    return undefined;
  return userData.readUInt32LE(12);
}

/**
 * The static channel ids in the server's MCS Connect-Response TPKT `pdu` (its SC_NET block, after the GCC
 * "McDn" key), in the order of the client's CS_NET names; throws BadParameter when there is no readable SC_NET.
 */
export function serverChannelIds(pdu: Buffer): number[] {
  if (pdu.length < 9 || pdu.readUInt16BE(7) !== 0x7f66) throw new BadParameter('not an MCS Connect-Response');
  const key = pdu.indexOf('McDn', 9, 'latin1');
  if (key < 0) throw new BadParameter('MCS Connect-Response: no server data');
  let at = key + 4;
  const b = pdu[at]!;
  const len = b & 0x80 ? ((b & 0x3f) << 8) | pdu[at + 1]! : b;
  at += b & 0x80 ? 2 : 1;
  const end = Math.min(at + len, pdu.length);
  while (at + 4 <= end) {
    const type = pdu.readUInt16LE(at);
    const blockLen = pdu.readUInt16LE(at + 2);
    if (blockLen < 4 || at + blockLen > end) throw new BadParameter('MCS Connect-Response: a block runs past it');
    if (type === SC_NET) {
      const count = pdu.readUInt16LE(at + 6);
      if (8 + 2 * count > blockLen) throw new BadParameter(`SC_NET: ${count} channels in ${blockLen} bytes`);
      return Array.from({ length: count }, (_, i) => pdu.readUInt16LE(at + 8 + 2 * i));
    }
    at += blockLen;
  }
  throw new BadParameter('MCS Connect-Response: no SC_NET block');
}

/** Which clipboard transfer: browser → desktop (`send`) or desktop → browser (`receive`). */
export type ClipboardDirection = 'send' | 'receive';

/** Follows one session's clipboard channel and reports each data response's length. */
export class ClipboardWatch {
  private names: string[] = [];
  private id: number | undefined;
  private disabledId: number | undefined;

  constructor(private readonly onLength: (direction: ClipboardDirection, length: number) => void) {}

  /** The channel names the client asked for, as the server gets them (after any renaming). */
  clientChannels(names: string[]): void {
    this.names = names;
  }

  /** The server's Connect-Response: its channel ids give the clipboard channel's, or the renamed one's. */
  serverChannels(connectResponse: Buffer): void {
    const clip = this.names.findIndex((n) => n.toLowerCase() === 'cliprdr');
    const disabled = this.names.indexOf(DISABLED_CHANNEL);
    if (clip < 0 && disabled < 0) return;
    const ids = serverChannelIds(connectResponse);
    if (clip >= 0) this.id = ids[clip];
    if (disabled >= 0) this.disabledId = ids[disabled];
  }

  /** One chunk on `channelId` going `direction`; false when it must be dropped (the renamed clipboard channel). */
  data(direction: ClipboardDirection, channelId: number, userData: Buffer): boolean {
    if (channelId === this.disabledId) return false;
    if (channelId !== this.id) return true;
    const n = clipboardDataLength(userData);
    if (n !== undefined) this.onLength(direction, n);
    return true;
  }
}
