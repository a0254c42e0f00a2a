/** Awaitable MySQL packets from one side of a connection, for the connection phase (one packet at a time). */

import type { Readable } from 'node:stream';
import { Unavailable } from '../../../core/errors.ts';
import { type Packet, PacketReader } from '../wire.ts';

/**
 * Reads whole packets off `stream` as they arrive and hands them out in order through `next()`. A packet longer
 * than `maxPayloadLength` or a malformed frame fails every later `next()`; so does the stream closing, with a
 * message naming `peer` and saying whether it stopped inside a packet. `detach()` stops reading and returns the
 * bytes not handed out yet, so the next phase can take over the stream without losing any.
 */
export class PacketSource {
  private readonly reader: PacketReader;
  private readonly ready: Packet[] = [];
  private waiter: { resolve: (p: Packet) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private watchers: (() => void)[] = [];
  private readonly onData = (chunk: Buffer) => {
    try {
      this.ready.push(...this.reader.push(chunk));
    } catch (err) {
      this.fail(err as Error);
    }
    this.settle();
  };
  private readonly onEnd = () => {
    const partial = this.reader.buffered;
    this.fail(
      new Unavailable(
        partial
          ? `${this.peer} closed the connection inside a packet (${partial} bytes of an unfinished packet)`
          : `${this.peer} closed the connection`,
        { protocol: 'mysql' },
      ),
    );
  };
  private readonly onError = (err: Error) =>
    this.fail(new Unavailable(`${this.peer}: ${err.message}`, { protocol: 'mysql' }, { cause: err }));

  constructor(
    private readonly stream: Readable,
    private readonly peer: string,
    maxPayloadLength: number,
  ) {
    this.reader = new PacketReader({ maxPayloadLength });
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /** The next whole packet; rejects when the stream failed or closed first, or when `signal` aborts. */
  next(signal: AbortSignal): Promise<Packet> {
    const ready = this.ready.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    if (signal.aborted) return Promise.reject(abortError(signal));
    const { promise, resolve, reject } = Promise.withResolvers<Packet>();
    const onAbort = () => {
      this.waiter = undefined;
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.waiter = {
      resolve: (p) => {
        signal.removeEventListener('abort', onAbort);
        resolve(p);
      },
      reject: (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    };
    return promise;
  }

  /** True when `next` would resolve at once with a packet. */
  get hasPacket(): boolean {
    return this.ready.length > 0;
  }

  /** Resolves once a packet is waiting or the stream has failed (`next` then settles at once); consumes nothing. */
  whenReady(signal: AbortSignal): Promise<void> {
    if (this.ready.length || this.failure || signal.aborted) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const done = () => {
      signal.removeEventListener('abort', done);
      this.watchers = this.watchers.filter((w) => w !== done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    this.watchers.push(done);
    return promise;
  }

  /** Stops reading; returns the raw bytes received but not handed out (whole packets first, then any partial one). */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    const rest = Buffer.concat([...this.ready.map((p) => p.raw), this.reader.takeRest()]);
    this.ready.length = 0;
    return rest;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.settle();
  }

  private settle(): void {
    if (this.ready.length || this.failure) for (const w of [...this.watchers]) w();
    const w = this.waiter;
    if (!w) return;
    const p = this.ready.shift();
    if (p) {
      this.waiter = undefined;
      w.resolve(p);
    } else if (this.failure) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }
}

/** The reason an aborted signal carries, as an Error. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Unavailable(typeof r === 'string' ? r : 'the session was ended');
}
