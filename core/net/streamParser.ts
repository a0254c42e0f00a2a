import { ByteQueue } from './byteQueue.ts';

/**
 * Turns a byte stream into whole messages: `push` queues a chunk and returns every message now complete, in order.
 * Truncated input waits for more; once `next` throws, the parser refuses all further input with that same error
 * (a framed stream cannot be resynced after a malformed message).
 */
export abstract class StreamParser<M> {
  protected readonly queue = new ByteQueue();
  private failure: Error | undefined;

  /** Bytes received but not yet part of a whole message. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Adds a chunk and returns every message now complete, in order. */
  push(chunk: Uint8Array): M[] {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    const out: M[] = [];
    try {
      for (let m = this.next(); m; m = this.next()) out.push(m);
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
    return out;
  }

  /** The next whole message at the front of the queue, taken off it; undefined while it is incomplete. */
  protected abstract next(): M | undefined;
}
