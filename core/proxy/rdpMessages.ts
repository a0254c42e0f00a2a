import { Transform, type TransformCallback } from 'node:stream';

/** The largest RDCleanPath response cut as one message (a certificate chain fits many times over). */
const MAX_FIRST = 1 << 20;

/** `n`, or 0 (cannot frame) when it is shorter than the header that says it. */
const orZero = (n: number, header: number) => (n >= header ? n : 0);

/**
 * The length of the whole message at the start of `b`, or undefined until enough of it is there to say. 0 when it
 * cannot be one (not RDP). The first message is the RDCleanPath response (DER: a SEQUENCE's tag and length); then
 * each is an RDP PDU: slow path (TPKT, version 3, a 16-bit big-endian length) or fast path (a PER length in one or
 * two bytes).
 */
function messageLength(b: Buffer, first: boolean): number | undefined {
  if (first) {
    if (b.length < 2) return undefined;
    const len = b[1]!;
    if (len < 0x80) return 2 + len;
    const n = len & 0x7f;
    if (n === 0 || n > 4) return 0; // not a DER length tp can frame: the rest goes through as it comes
    if (b.length < 2 + n) return undefined;
    const total = 2 + n + b.readUIntBE(2, n);
    return total <= MAX_FIRST ? total : 0; // held whole before it is sent: a bound on what one may hold
  }
  if (b[0] === 3) return b.length < 4 ? undefined : orZero(b.readUInt16BE(2), 4);
  if (b.length < 2) return undefined;
  if (!(b[1]! & 0x80)) return orZero(b[1]!, 2);
  return b.length < 3 ? undefined : orZero(((b[1]! & 0x7f) << 8) | b[2]!, 3);
}

/**
 * Cuts the desktop's byte stream into one chunk per RDCleanPath or RDP message, so that each WebSocket message the
 * browser gets holds exactly one. IronRDP needs that: it reads the connection sequence with one reader and the
 * session with another, and bytes the first had read past the end of the sequence (a screen update that arrived in
 * the same message) are lost, which leaves the session reading from the middle of a PDU. A length tp cannot
 * read (not RDP) stops the cutting: from there the bytes pass as they come.
 */
export class RdpMessages extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private first = true;
  private framing = true;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.framing) {
      done(null, chunk);
      return;
    }
    let b = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const n = b.length ? messageLength(b, this.first) : undefined;
      if (n === undefined) break;
      if (n === 0) {
        this.framing = false;
        this.push(b);
        b = Buffer.alloc(0);
        break;
      }
      if (b.length < n) break;
      this.push(b.subarray(0, n));
      b = b.subarray(n);
      this.first = false;
    }
    this.pending = b;
    done();
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pending.length ? this.pending : undefined);
  }
}
