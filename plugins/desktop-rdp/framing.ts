// Framing of RDP's PDUs on a byte stream once TLS is up, the same both ways: a TPKT (first byte 3, a 16-bit length)
// or a fast-path PDU (action bits 0, a 7- or 15-bit length). Encrypted fast-path PDUs (standard RDP security) are
// refused: tp speaks TLS security only.

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter } from '../../core/errors.ts';
import { tpktLength } from './x224.ts';

/** The rest of a TPKT whose first byte is `first`, by its length (at most 64 KiB by its format). */
export async function readTpkt(r: ByteReader, first: Buffer): Promise<Buffer> {
  const head = Buffer.concat([first, await r.read(3)]);
  const len = tpktLength(head);
  return Buffer.concat([head, await r.read(len - 4)]);
}

/** The rest of a fast-path PDU whose first byte is `first`, by its 1- or 2-byte length (at most 32 KiB). */
export async function readFastPath(r: ByteReader, first: Buffer): Promise<Buffer> {
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
