/** Packet boundaries of a MySQL byte stream seen chunk by chunk, without holding the packets themselves. */

import { MAX_FRAGMENT } from '../wire.ts';

/** The start of one packet: its sequence id, payload length and first payload bytes (at most `PEEK`). */
export interface PacketHead {
  seq: number;
  length: number;
  first: Buffer;
}

/** How many payload bytes of each packet a head carries: enough for COM_STMT_PREPARE_OK, OK and ERR headers. */
export const PEEK = 16;

/**
 * Follows the framing of the server's command-phase stream so that the relay can forward each chunk as it comes
 * (a 200 MB result never sits in memory) and still see where every packet starts. Reports each logical packet once,
 * at its first fragment; continuation fragments of a split payload are skipped.
 */
export class PacketHeads {
  private readonly header = Buffer.alloc(4);
  private headerLen = 0;
  /** Payload bytes of the current fragment not seen yet. */
  private remaining = 0;
  /** The current fragment is 0xFFFFFF long: the one after it continues the same payload. */
  private continues = false;
  private current: { head: PacketHead; report: boolean; peekAt: number } | undefined;

  constructor(private readonly onPacket: (head: PacketHead) => void) {}

  /** Consumes one chunk, reporting every packet whose first `PEEK` payload bytes (or whole payload) it completes. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.current === undefined) {
        const n = Math.min(4 - this.headerLen, chunk.length - at);
        chunk.copy(this.header, this.headerLen, at, at + n);
        this.headerLen += n;
        at += n;
        if (this.headerLen < 4) return;
        this.headerLen = 0;
        const length = this.header.readUIntLE(0, 3);
        const report = !this.continues;
        this.continues = length === MAX_FRAGMENT;
        this.remaining = length;
        const head = { seq: this.header[3]!, length, first: Buffer.alloc(Math.min(PEEK, length)) };
        this.current = { head, report, peekAt: 0 };
      }
      const cur = this.current;
      const wantPeek = cur.head.first.length - cur.peekAt;
      if (wantPeek > 0) {
        const n = Math.min(wantPeek, chunk.length - at);
        chunk.copy(cur.head.first, cur.peekAt, at, at + n);
        cur.peekAt += n;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      at += take;
      this.remaining -= take;
      if (cur.peekAt === cur.head.first.length && cur.report) {
        cur.report = false;
        this.onPacket(cur.head);
      }
      if (this.remaining === 0) this.current = undefined;
    }
  }

  /** True between packets (no header or payload half read). */
  get atBoundary(): boolean {
    return this.current === undefined && this.headerLen === 0;
  }
}
