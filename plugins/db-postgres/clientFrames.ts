// Client → server framing after the StartupMessage: small messages are parsed whole (queries, Parse/Bind/Execute, for
// the audit), large ones (a big COPY row, a huge query) pass through piece by piece as they arrive, so memory stays
// bounded by one chunk however large the message.
import { TpError } from '../../core/errors.ts';
import { ByteQueue } from '../../core/net/byteQueue.ts';
import { checkTypedHeader, type FrontendMessage, parseTypedMessage } from './wire.ts';

/** What the framer saw: a whole message, or the start of one too large to hold (its first `prefix` body bytes). */
export type ClientEvent =
  | { kind: 'message'; message: FrontendMessage }
  | { kind: 'large'; code: string; length: number; prefix: Buffer };

/** Sizes: the largest message accepted (PostgreSQL's 1 GiB), parsed whole, and the prefix kept of larger ones. */
export interface ClientFramerLimits {
  maxMessage?: number;
  wholeLimit?: number;
  capture?: number;
}

interface Streaming {
  code: string;
  length: number;
  left: number;
  prefix: Buffer[];
  captured: number;
}

/**
 * Splits the client's typed messages. `push` forwards every byte exactly once, in order, and reports each message
 * (whole ones as they complete, large ones when their last byte passed); a malformed or oversized header throws
 * BadParameter or LimitExceeded and the framer then refuses further input.
 */
export class ClientFramer {
  private readonly queue = new ByteQueue();
  private streaming: Streaming | undefined;
  private failure: Error | undefined;
  private readonly maxMessage: number;
  private readonly wholeLimit: number;
  private readonly capture: number;

  constructor(limits: ClientFramerLimits = {}) {
    this.maxMessage = limits.maxMessage ?? 1024 ** 3;
    this.wholeLimit = limits.wholeLimit ?? 1024 * 1024;
    this.capture = limits.capture ?? 64 * 1024;
  }

  /** True when no message is partly received (what a relay checks before it writes a message of its own). */
  get atBoundary(): boolean {
    return !this.streaming && this.queue.length === 0;
  }

  /** The message cut short, when the client's stream ended in the middle of one ("a Query of 1000 bytes, 10 sent"). */
  partial(): string | undefined {
    if (this.streaming) {
      const s = this.streaming;
      return `message "${s.code}" of ${s.length + 1} bytes, ${s.length + 1 - s.left} received`;
    }
    if (this.queue.length === 0) return undefined;
    const head = this.queue.peek(5);
    if (!head) return `a message header, ${this.queue.length} of 5 bytes received`;
    return `message "${String.fromCharCode(head[0]!)}" of ${head.readInt32BE(1) + 1} bytes, ${this.queue.length} received`;
  }

  /** Takes a chunk: `forward` gets the bytes to send on, `observe` each message seen. */
  push(chunk: Uint8Array, forward: (bytes: Buffer) => void, observe: (e: ClientEvent) => void): void {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    try {
      for (;;) if (!this.step(forward, observe)) return;
    } catch (err) {
      this.failure = err instanceof Error ? err : new TpError(String(err));
      throw this.failure;
    }
  }

  /** Moves one message (or one piece of a large one) on; false when it must wait for more bytes. */
  private step(forward: (bytes: Buffer) => void, observe: (e: ClientEvent) => void): boolean {
    const s = this.streaming;
    if (s) {
      const n = Math.min(s.left, this.queue.length);
      if (n === 0) return false;
      const piece = this.queue.take(n)!;
      if (s.captured < this.capture) {
        const keep = Buffer.from(piece.subarray(0, this.capture - s.captured));
        s.prefix.push(keep);
        s.captured += keep.length;
      }
      s.left -= n;
      forward(piece);
      if (s.left === 0) {
        this.streaming = undefined;
        observe({ kind: 'large', code: s.code, length: s.length, prefix: Buffer.concat(s.prefix) });
      }
      return true;
    }
    const head = this.queue.peek(5);
    if (!head) return false;
    const { code, length } = checkTypedHeader(head, this.maxMessage);
    if (length + 1 <= this.wholeLimit) {
      const raw = this.queue.take(length + 1);
      if (!raw) return false;
      const message = parseTypedMessage(raw);
      observe({ kind: 'message', message });
      forward(raw);
      return true;
    }
    forward(this.queue.take(5)!);
    this.streaming = { code, length, left: length - 4, prefix: [], captured: 0 };
    return true;
  }
}
