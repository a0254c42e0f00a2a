/**
 * MySQL packet framing: a 3-byte little-endian length and a sequence id before each payload; a payload of
 * 16 MiB − 1 or more is split, every fragment but the last exactly 0xFFFFFF bytes (an empty one closes an exact
 * multiple).
 */

import { BadParameter, LimitExceeded } from '../../../core/errors.ts';
import { StreamParser } from '../../../core/net/streamParser.ts';

/** The largest fragment; a fragment of this size means another follows. */
export const MAX_FRAGMENT = 0xffffff;

/** One logical packet: its payload (fragments joined), the sequence ids it used, and the exact bytes received. */
export interface Packet {
  seq: number;
  /** The sequence id of its last fragment (the same as `seq` unless it was split); the next packet uses this + 1. */
  lastSeq: number;
  payload: Buffer;
  raw: Buffer;
}

/**
 * Turns a MySQL byte stream (either direction) into whole packets. A payload longer than `maxPayloadLength`
 * (default 64 MiB) is refused as soon as a fragment header shows it; fragments with non-consecutive sequence ids are
 * malformed. Truncated input waits. After an error the reader refuses all further input.
 */
export class PacketReader extends StreamParser<Packet> {
  private readonly max: number;

  constructor(limits: { maxPayloadLength?: number } = {}) {
    super();
    this.max = limits.maxPayloadLength ?? 64 * 1024 * 1024;
  }

  /** Everything received after the last whole packet, e.g. the first bytes of a TLS handshake after an SSLRequest. */
  takeRest(): Buffer {
    return this.queue.takeAll();
  }

  protected next(): Packet | undefined {
    // Walk fragment headers without consuming, so a packet is taken only once all its fragments are here.
    let offset = 0;
    let total = 0;
    let first = -1;
    let seq = -1;
    for (;;) {
      const head = this.queue.peekAt(offset, 4);
      if (!head) return undefined;
      const len = head.readUIntLE(0, 3);
      const s = head[3]!;
      if (first < 0) first = s;
      else if (s !== ((seq + 1) & 0xff)) {
        throw new BadParameter(`malformed MySQL packet: fragment sequence ${s} after ${seq}`, { protocol: 'mysql' });
      }
      seq = s;
      total += len;
      if (total > this.max) {
        throw new LimitExceeded(`MySQL packet of at least ${total} bytes exceeds the limit of ${this.max}`, {
          protocol: 'mysql',
          length: total,
        });
      }
      offset += 4 + len;
      if (this.queue.length < offset) return undefined;
      if (len < MAX_FRAGMENT) break;
    }
    const raw = this.queue.take(offset)!;
    let payload: Buffer;
    if (offset === total + 4) payload = raw.subarray(4);
    else {
      const parts: Buffer[] = [];
      for (let at = 0; at < raw.length; ) {
        const len = raw.readUIntLE(at, 3);
        parts.push(raw.subarray(at + 4, at + 4 + len));
        at += 4 + len;
      }
      payload = Buffer.concat(parts);
    }
    return { seq: first, lastSeq: seq, payload, raw };
  }
}

/** Frames a payload as packets starting at sequence id `seq`, splitting at 0xFFFFFF bytes. */
export function framePacket(payload: Uint8Array, seq: number): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let s = seq & 0xff;
  for (;;) {
    const len = Math.min(MAX_FRAGMENT, payload.length - at);
    const head = Buffer.allocUnsafe(4);
    head.writeUIntLE(len, 0, 3);
    head[3] = s;
    parts.push(head, Buffer.from(payload.buffer, payload.byteOffset + at, len));
    at += len;
    s = (s + 1) & 0xff;
    if (len < MAX_FRAGMENT) break;
  }
  return Buffer.concat(parts);
}
