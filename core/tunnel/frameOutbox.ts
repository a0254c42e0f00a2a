// Frames a tunnel session makes in one turn of the event loop, written to its connection together: each write is a
// TLS record and a syscall, and a turn often makes several frames (window credits, data, acks, many streams').
import type { ByteStream } from './byteStream.ts';

/** Frames waiting past this many bytes go at once instead of at the end of the turn. */
const COALESCE_BYTES = 64 * 1024;

/** Collects encoded frames and writes them to `conn` in one write at the end of the turn (setImmediate). */
export class FrameOutbox {
  private frames: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly conn: ByteStream) {}

  /** Bytes collected and not yet handed to the connection. */
  get bytes(): number {
    return this.size;
  }

  /** Adds one frame, in order after those before it. */
  push(frame: Uint8Array): void {
    if (this.frames.length === 0) setImmediate(this.flush);
    this.frames.push(frame);
    this.size += frame.length;
    if (this.size >= COALESCE_BYTES) this.flush();
  }

  /** Writes what is collected now (a session that closes writes its go-away this way). */
  readonly flush = (): void => {
    if (this.frames.length === 0) return;
    const frames = this.frames;
    const size = this.size;
    this.frames = [];
    this.size = 0;
    this.conn.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, size));
  };
}
