// The client → server direction once TLS is up: walks the browser's bytes PDU by PDU (CredSSP's DER messages when
// the server chose NLA, then TPKT slow-path and fast-path PDUs by their own lengths), hands the Client Info PDU to
// the session (which may rewrite it), drops input in view-only sessions, and refuses what it cannot frame.
import { BadParameter } from '../../core/errors.ts';
import type { ByteReader } from '../desktop-vnc/byteReader.ts';
import { withoutClipboard } from './channels.ts';
import { isClientInfo } from './clientInfo.ts';
import { elementSize } from './der.ts';
import {
  encodeSendData,
  isSlowPathInput,
  MCS_ATTACH_USER,
  MCS_CHANNEL_JOIN,
  MCS_DISCONNECT_ULTIMATUM,
  MCS_ERECT_DOMAIN,
  parseSlowPath,
} from './mcs.ts';
import { tpktLength } from './x224.ts';

/** CredSSP TSRequests carry SPNEGO tokens and a certificate at most: far below this. */
const MAX_CREDSSP = 64 * 1024;
const BEFORE_INFO = new Set([MCS_ERECT_DOMAIN, MCS_ATTACH_USER, MCS_CHANNEL_JOIN, MCS_DISCONNECT_ULTIMATUM]);

/** What the walk enforces and whom it tells. */
export interface ClientWalk {
  /** Drop fast-path input PDUs and slow-path input PDUs. */
  viewOnly: boolean;
  /** The roles allow the clipboard; false: the client's clipboard channel is renamed away in its Connect-Initial. */
  clipboard: boolean;
  /** The server selected NLA: the client speaks CredSSP (DER TSRequests) before its first TPKT. */
  credssp: boolean;
  /** Gets the Client Info PDU's user data, returns what to send instead; throws to end the session. */
  onClientInfo(userData: Buffer): Buffer;
  /** One input PDU was dropped (view-only). */
  onInputDropped(): void;
}

async function readTpkt(r: ByteReader, first: Buffer): Promise<Buffer> {
  const head = Buffer.concat([first, await r.read(3)]);
  const len = tpktLength(head);
  return Buffer.concat([head, await r.read(len - 4)]);
}

async function readFastPath(r: ByteReader, first: Buffer): Promise<Buffer> {
  if (first[0]! & 0xc0) throw new BadParameter('an encrypted fast-path PDU (tp speaks TLS security only)');
  const b1 = await r.read(1);
  let head = Buffer.concat([first, b1]);
  let len = b1[0]!;
  if (len & 0x80) {
    const b2 = await r.read(1);
    head = Buffer.concat([head, b2]);
    len = ((len & 0x7f) << 8) | b2[0]!;
  }
  if (len < head.length + 1) throw new BadParameter(`a ${len}-byte fast-path PDU`);
  return Buffer.concat([head, await r.read(len - head.length)]);
}

async function readCredssp(r: ByteReader, first: Buffer): Promise<Buffer> {
  let head = first;
  let size = elementSize(head);
  for (let i = 0; i < 4 && size === undefined; i++) {
    head = Buffer.concat([head, await r.read(1)]);
    size = elementSize(head);
  }
  if (size === undefined || size > MAX_CREDSSP) throw new BadParameter(`a ${size ?? '?'}-byte CredSSP message`);
  return Buffer.concat([head, await r.read(size - head.length)]);
}

/**
 * Relays the browser's PDUs to the server through `write` until the browser's stream ends (StreamEnded) or a PDU
 * cannot be framed or is out of place (BadParameter): before the Client Info PDU only the MCS connection PDUs may
 * come, and the first Send Data Request must be the Client Info PDU.
 */
export async function relayClientPdus(
  r: ByteReader,
  write: (b: Buffer) => Promise<void>,
  walk: ClientWalk,
): Promise<void> {
  let infoSeen = false;
  let tpktSeen = false;
  let connectSeen = false;
  for (;;) {
    const first = await r.read(1);
    const action = first[0]! & 0x03;
    if (!tpktSeen && walk.credssp && first[0] === 0x30) {
      await write(await readCredssp(r, first));
      continue;
    }
    if (action === 0) {
      const pdu = await readFastPath(r, first);
      if (!infoSeen) throw new BadParameter('fast-path input before the Client Info PDU');
      if (walk.viewOnly) walk.onInputDropped();
      else await write(pdu);
      continue;
    }
    if (action !== 3) throw new BadParameter(`a PDU starting 0x${first[0]!.toString(16)} (neither TPKT nor fast-path)`);
    const pdu = await readTpkt(r, first);
    tpktSeen = true;
    const p = parseSlowPath(pdu);
    if (infoSeen) {
      if (p.kind === 'send-data' && walk.viewOnly && isSlowPathInput(p.data.userData)) walk.onInputDropped();
      else await write(pdu);
      continue;
    }
    if (p.kind === 'send-data') {
      if (!isClientInfo(p.data.userData)) throw new BadParameter('MCS data before the Client Info PDU');
      infoSeen = true;
      await write(encodeSendData(p.data.header, walk.onClientInfo(p.data.userData)));
    } else if (p.kind === 'connect-initial') {
      if (connectSeen) throw new BadParameter('a second MCS Connect-Initial');
      connectSeen = true;
      await write(walk.clipboard ? pdu : withoutClipboard(pdu));
    } else if (p.kind === 'mcs' && BEFORE_INFO.has(p.choice)) {
      await write(pdu);
    } else {
      throw new BadParameter(`an unexpected ${p.kind} PDU before the Client Info PDU`);
    }
  }
}
