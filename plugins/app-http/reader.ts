import type { Duplex } from 'node:stream';
import { BadParameter } from '../../core/errors.ts';

/** Bytes read ahead of the caller before the stream is paused. */
const READ_AHEAD = 256 * 1024;

/**
 * Reads a byte stream on demand, with backpressure: the stream flows until READ_AHEAD bytes wait unread, then pauses
 * until the caller asks again. (Pausing after every chunk cost a turn of the event loop per message at each hop.)
 */
export class StreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake?: () => void;

  constructor(private readonly s: Duplex) {
    s.pause();
    s.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      if (this.buf.length >= READ_AHEAD) s.pause();
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    s.on('end', end);
    s.on('close', end);
    s.on('error', end);
  }

  /** Waits for more bytes; false once the stream has ended with nothing buffered beyond what is there. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const got = new Promise<void>((r) => {
      this.wake = r;
    });
    this.s.resume();
    await got;
    this.wake = undefined;
    return true;
  }

  /** The bytes up to and including `delim`, or null at a clean end of stream; BadParameter past `max` bytes. */
  async until(delim: string, max: number): Promise<Buffer | null> {
    for (;;) {
      const i = this.buf.indexOf(delim);
      if (i >= 0) {
        const out = this.buf.subarray(0, i + delim.length);
        this.buf = this.buf.subarray(i + delim.length);
        return out;
      }
      if (this.buf.length > max) throw new BadParameter(`more than ${max} bytes without ${JSON.stringify(delim)}`);
      if (!(await this.more())) {
        if (this.buf.length) throw new BadParameter('the stream ended in the middle of a message');
        return null;
      }
    }
  }

  /** Exactly `n` bytes if that many are buffered already, else undefined (nothing is taken). */
  takeBuffered(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Up to `max` bytes as soon as any are there; null at end of stream. */
  async some(max: number): Promise<Buffer | null> {
    while (this.buf.length === 0) if (!(await this.more())) return null;
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    return out;
  }
}

/** Writes `b`, resolving once the stream takes more (drain) — or at once when it is gone. */
export function write(out: Duplex, b: Buffer | string): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.reject(new BadParameter('the peer went away'));
  if (out.write(b)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', gone);
      resolve();
    };
    const gone = () => {
      out.off('drain', done);
      reject(new BadParameter('the peer went away'));
    };
    out.once('drain', done);
    out.once('close', gone);
  });
}
