// Reads a desktop protocol's byte stream (RFB, RDP) message by message: exact-length reads for headers, and
// pass-through of long payloads chunk by chunk, so a walker never holds more than one chunk of a big rectangle
// (bounded memory). Shared by the desktop plugins, so neither reaches into the other's files.
import type { Duplex } from 'node:stream';
import { Unavailable } from '../errors.ts';

/** The peer closed its side (or the session was cut) while a read waited. */
export class StreamEnded extends Unavailable {}

/** Above this many buffered bytes the source is paused until the walker catches up. */
const HIGH_WATER = 1 << 20;

/** Pulls bytes from one side of a session; every wait ends when the source ends, errs, or `signal` aborts. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private ended: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly src: Duplex,
    /** Who the source is, in errors (`the VNC server`, `the RDP server`, `the browser`). */
    what: string,
    signal?: AbortSignal,
  ) {
    src.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      if (this.have > HIGH_WATER) src.pause();
      this.notify();
    });
    const end = () => this.finish(new StreamEnded(`${what} closed the connection`));
    src.once('end', end);
    src.once('close', end);
    src.once('error', (err: Error) => this.finish(new StreamEnded(`${what}: ${err.message}`)));
    signal?.addEventListener('abort', () => this.finish(new StreamEnded(`the session ended: ${reason(signal)}`)));
  }

  private finish(err: Error): void {
    this.ended ??= err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (this.ended && this.have === 0) throw this.ended;
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.alloc(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.have -= n;
    if (this.src.isPaused() && this.have < HIGH_WATER / 2) this.src.resume();
    return out;
  }

  /** Exactly `n` bytes (callers keep `n` small: headers, bounded fields); throws StreamEnded if the source ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.have < n) await this.more();
    return this.take(n);
  }

  /** Hands the next `n` bytes to `sink` as they arrive (or drops them with no sink), never buffering them whole. */
  async pass(n: number, sink?: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      while (this.have === 0) await this.more();
      const chunk = this.take(Math.min(left, this.chunks[0]!.length));
      left -= chunk.length;
      if (sink) await sink(chunk);
    }
  }
}

/** Writes `chunk` to `dst`, resolving once `dst` can take more (its drain), or at once if it is gone. */
export function writeDrained(dst: Duplex, chunk: Uint8Array): Promise<void> {
  if (dst.destroyed || dst.writableEnded) return Promise.reject(new StreamEnded('the connection is closed'));
  if (dst.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      dst.off('drain', done);
      dst.off('close', done);
      resolve();
    };
    dst.once('drain', done);
    dst.once('close', done);
  });
}

/** The reason an aborted signal carries, as words. */
export function reason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : String(r);
}
