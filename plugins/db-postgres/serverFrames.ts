// Server → client framing. Until the first ReadyForQuery the relay reads whole messages (authentication, the cancel
// key it replaces, a refusal); after it, bytes pass through untouched and only message boundaries are tracked, so
// tp can end a session with an ErrorResponse of its own without cutting a row in half.
import { BadParameter, LimitExceeded } from '../../core/errors.ts';
import { ByteQueue } from '../../core/net/byteQueue.ts';
import { type BackendMessage, BackendParser } from './wire.ts';

/** The most bytes one message before ReadyForQuery may announce (they are all small). */
const MAX_STARTUP_MESSAGE = 1024 * 1024;

/** Reads the server's answer to the StartupMessage up to and including the first ReadyForQuery. */
export class StartupAnswerReader {
  private readonly queue = new ByteQueue();

  /**
   * Takes a chunk and returns the whole messages now complete; after ReadyForQuery, `rest` holds the bytes that
   * followed it (to pass through untouched). Throws BadParameter or LimitExceeded for a malformed or huge message.
   */
  push(chunk: Uint8Array): { messages: BackendMessage[]; rest?: Buffer } {
    this.queue.push(chunk);
    const messages: BackendMessage[] = [];
    for (;;) {
      const head = this.queue.peek(5);
      if (!head) return { messages };
      const len = head.readInt32BE(1);
      if (len < 4) throw new BadParameter(`malformed PostgreSQL server message: length ${len}`);
      if (len + 1 > MAX_STARTUP_MESSAGE) {
        throw new LimitExceeded(`PostgreSQL server message of ${len} bytes during the startup exceeds 1 MiB`);
      }
      const raw = this.queue.take(len + 1);
      if (!raw) return { messages };
      // A fresh parser per whole message: it holds nothing back, and checks what it interprets.
      const parsed = new BackendParser().push(raw);
      messages.push(...parsed);
      if (parsed.some((m) => m.type === 'ReadyForQuery')) return { messages, rest: this.queue.takeAll() };
    }
  }
}

/** Follows message boundaries in a byte stream without keeping the bytes (a 5-byte header at most). */
export class FrameTracker {
  private left = 0;
  private header = Buffer.alloc(5);
  private headerHave = 0;

  /** `onMessage` hears each message's type byte as its header completes. */
  constructor(private readonly onMessage: (code: number) => void = () => undefined) {}

  /** True when the bytes seen so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.left === 0 && this.headerHave === 0;
  }

  /** Advances over `chunk`. Throws BadParameter for a length below 4 (the stream is not PostgreSQL framing). */
  track(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - at);
        this.left -= n;
        at += n;
        continue;
      }
      let code: number;
      let len: number;
      if (this.headerHave === 0 && chunk.length - at >= 5) {
        // The common case, a whole header in the chunk: read it in place (a COPY is millions of small messages, and
        // a view per header was a tenth of the agent's time relaying one).
        code = chunk[at]!;
        len = ((chunk[at + 1]! << 24) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 8) | chunk[at + 4]!) >> 0;
        at += 5;
      } else {
        while (this.headerHave < 5 && at < chunk.length) this.header[this.headerHave++] = chunk[at++]!;
        if (this.headerHave < 5) return;
        code = this.header[0]!;
        len = this.header.readInt32BE(1);
        this.headerHave = 0;
      }
      if (len < 4) throw new BadParameter(`malformed PostgreSQL server message: length ${len}`);
      this.left = len - 4;
      this.onMessage(code);
    }
  }
}
