// The client → server direction once TLS is up: walks the browser's bytes PDU by PDU (CredSSP's DER messages when
// the server chose NLA, then TPKT slow-path and fast-path PDUs by their own lengths), hands the Client Info PDU to
// the session (which may rewrite it), drops input in view-only sessions, and refuses what it cannot frame.

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter } from '../../core/errors.ts';
import { isClientInfo } from './clientInfo.ts';
import { elementSize } from './der.ts';
import { readFastPath, readTpkt } from './framing.ts';
import {
  encodeSendData,
  isSlowPathInput,
  MCS_ATTACH_USER,
  MCS_CHANNEL_JOIN,
  MCS_DISCONNECT_ULTIMATUM,
  MCS_ERECT_DOMAIN,
  parseSlowPath,
} from './mcs.ts';

/** CredSSP TSRequests carry SPNEGO tokens and a certificate at most: far below this. */
const MAX_CREDSSP = 64 * 1024;
const BEFORE_INFO = new Set([MCS_ERECT_DOMAIN, MCS_ATTACH_USER, MCS_CHANNEL_JOIN, MCS_DISCONNECT_ULTIMATUM]);

/** What the walk enforces and whom it tells. */
export interface ClientWalk {
  /** Drop fast-path input PDUs and slow-path input PDUs. */
  viewOnly: boolean;
  /** Gets the client's MCS Connect-Initial, returns what to send instead (the clipboard channel renamed away). */
  onConnectInitial(pdu: Buffer): Buffer;
  /** The user data of one MCS Send Data Request on `channelId`, after the Client Info PDU; false drops it. */
  onChannelData(channelId: number, userData: Buffer): boolean;
  /** The server selected NLA: the client speaks CredSSP (DER TSRequests) before its first TPKT. */
  credssp: boolean;
  /** Gets the Client Info PDU's user data, returns what to send instead; throws to end the session. */
  onClientInfo(userData: Buffer): Buffer;
  /** One input PDU was dropped (view-only). */
  onInputDropped(): void;
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
      if (p.kind === 'send-data' && walk.viewOnly && isSlowPathInput(p.data.userData)) {
        walk.onInputDropped();
        continue;
      }
      if (p.kind === 'send-data' && !walk.onChannelData(p.data.channelId, p.data.userData)) continue;
      await write(pdu);
      continue;
    }
    if (p.kind === 'send-data') {
      if (!isClientInfo(p.data.userData)) throw new BadParameter('MCS data before the Client Info PDU');
      infoSeen = true;
      await write(encodeSendData(p.data.header, walk.onClientInfo(p.data.userData)));
    } else if (p.kind === 'connect-initial') {
      if (connectSeen) throw new BadParameter('a second MCS Connect-Initial');
      connectSeen = true;
      await write(walk.onConnectInitial(pdu));
    } else if (p.kind === 'mcs' && BEFORE_INFO.has(p.choice)) {
      await write(pdu);
    } else {
      throw new BadParameter(`an unexpected ${p.kind} PDU before the Client Info PDU`);
    }
  }
}
