// The server → client direction once TLS is up (when the server did not choose NLA): walks the server's PDUs by
// their own lengths and relays each whole, so the session can read the MCS Connect-Response (the channel ids) and
// the clipboard channel's data responses (their lengths, for the audit). A PDU it cannot frame ends the session.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter } from '../../core/errors.ts';
import { readFastPath, readTpkt } from './framing.ts';
import { parseSlowPath } from './mcs.ts';

/** Whom the walk tells what it saw. */
export interface ServerWalk {
  /** The server's first TPKT, its MCS Connect-Response. */
  onConnectResponse(pdu: Buffer): void;
  /** The user data of one MCS Send Data Indication on `channelId`; false drops it. */
  onChannelData(channelId: number, userData: Buffer): boolean;
}

/** Relays the server's PDUs to the browser through `write` until the server's stream ends (StreamEnded) or breaks. */
export async function relayServerPdus(
  r: ByteReader,
  write: (b: Buffer) => Promise<void>,
  walk: ServerWalk,
): Promise<void> {
  let first = true;
  for (;;) {
    const b0 = await r.read(1);
    const action = b0[0]! & 0x03;
    if (action === 0) {
      await write(await readFastPath(r, b0));
      continue;
    }
    if (action !== 3) throw new BadParameter(`the server sent a PDU starting 0x${b0[0]!.toString(16)}`);
    const pdu = await readTpkt(r, b0);
    if (first) walk.onConnectResponse(pdu);
    first = false;
    const p = parseSlowPath(pdu);
    if (p.kind === 'send-data' && !walk.onChannelData(p.data.channelId, p.data.userData)) continue;
    await write(pdu);
  }
}

/** Relays the server's bytes to the browser unwalked, with backpressure, until the server's side ends. */
export function relayRaw(tls: TLSSocket, stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    tls.on('data', (b: Buffer) => {
      if (!stream.write(b)) {
        tls.pause();
        stream.once('drain', () => tls.resume());
      }
    });
    tls.once('end', () => resolve());
    tls.once('close', () => resolve());
    tls.once('error', reject);
  });
}
