import type { Socket } from 'node:net';
import { encodeFrame, F_SYN, HEADER, T_DATA } from '../../core/tunnel/muxFrame.ts';

/** One frame as a fake peer saw it (payload kept only for data frames). */
export interface SeenFrame {
  type: number;
  flags: number;
  id: number;
  length: number;
  payload?: Buffer;
}

/**
 * A hand-driven tunnel peer for attack tests: it speaks the multiplexer's frames over a socket but keeps none of
 * its rules (windows, stream limits) unless the test does. Every wait is bounded in time.
 */
export class FakeTunnelPeer {
  readonly frames: SeenFrame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= HEADER) {
        const type = this.buf.readUInt8(1);
        const length = this.buf.readUInt32BE(8);
        const need = type === T_DATA ? HEADER + length : HEADER;
        if (this.buf.length < need) break;
        this.frames.push({
          type,
          flags: this.buf.readUInt16BE(2),
          id: this.buf.readUInt32BE(4),
          length,
          payload: type === T_DATA ? Buffer.from(this.buf.subarray(HEADER, need)) : undefined,
        });
        this.buf = this.buf.subarray(need);
      }
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined); // the session under attack may cut the connection at any point
  }

  /** Sends one frame (data frames carry `payload`; others carry `length` in the header). */
  send(type: number, flags: number, id: number, lengthOrPayload: number | Buffer = 0): void {
    if (this.closed) return;
    if (typeof lengthOrPayload === 'number') this.sock.write(encodeFrame(type, flags, id, lengthOrPayload));
    else this.sock.write(encodeFrame(type, flags, id, lengthOrPayload.length, lengthOrPayload));
  }

  /** Waits until a frame matching `pred` arrived; throws naming `what` after `ms`. */
  async frame(what: string, pred: (f: SeenFrame) => boolean, ms = 10_000): Promise<SeenFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Waits for the stream the other side opens (a SYN), returning its ID. */
  async openedStream(ms = 10_000): Promise<number> {
    return (await this.frame('a stream to be opened', (f) => (f.flags & F_SYN) !== 0 && f.id !== 0, ms)).id;
  }

  /**
   * Sends data frames of `frameBytes` on stream `id`, ignoring every window, until `totalBytes` went out, the
   * connection closed, or `ms` passed; `onFrame` runs after each frame (to sample memory). Returns bytes sent.
   */
  async flood(id: number, totalBytes: number, frameBytes: number, onFrame?: () => void, ms = 30_000): Promise<number> {
    const frame = encodeFrame(T_DATA, 0, id, frameBytes, Buffer.alloc(frameBytes, 0x61));
    const deadline = Date.now() + ms;
    let sent = 0;
    while (sent < totalBytes && !this.closed && Date.now() < deadline) {
      const more = this.sock.write(frame);
      sent += frameBytes;
      onFrame?.();
      if (!more) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          this.sock.once('drain', () => {
            clearTimeout(t);
            r();
          });
        });
      }
    }
    return sent;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** The resident memory of this process (bytes), after a full collection. */
export function rssAfterGc(): number {
  Bun.gc(true);
  return process.memoryUsage().rss;
}
