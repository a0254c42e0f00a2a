import { type Clock, systemClock } from '../clock.ts';
import { LimitExceeded } from '../errors.ts';
import { log } from '../log.ts';
import type { ByteStream } from './byteStream.ts';
import { FrameOutbox } from './frameOutbox.ts';
import {
  encodeFrame,
  F_ACK,
  F_FIN,
  F_RST,
  F_SYN,
  GOAWAY_BUSY,
  GOAWAY_PROTOCOL,
  HEADER,
  INITIAL_WINDOW,
  T_DATA,
  T_GOAWAY,
  T_PING,
  T_WINDOW,
  VERSION,
} from './muxFrame.ts';
import { MuxClosed, MuxStream, type StreamCarrier } from './muxStream.ts';

/**
 * Stream multiplexing over one reliable connection, after the yamux spec: types data/window/ping/go-away; flags
 * SYN/ACK/FIN/RST; a 256 KiB credit window per stream and direction; pings for liveness. The dialer uses odd
 * stream IDs and the listener even ones. Both peers are held to the protocol: data beyond a stream's window closes
 * the session, and what the peer can make this side buffer is capped per stream, per session and on the wire.
 */

export type { ByteStream } from './byteStream.ts';
export { INITIAL_WINDOW } from './muxFrame.ts';
export { MuxClosed, MuxStream } from './muxStream.ts';

/** Outgoing bytes queued on the connection above which data frames wait for 'drain'. */
const QUEUE_LIMIT = 1024 * 1024;
/** Outgoing bytes queued on the connection above which the peer is taken not to read at all. */
const QUEUE_HARD_LIMIT = 16 * 1024 * 1024;

export interface MuxOptions {
  /** 'client' opens odd stream IDs, 'server' even ones. */
  side: 'client' | 'server';
  /** Ping interval; 0 disables. Default 15 s. */
  keepaliveMs?: number;
  /** Close the session when a ping is unanswered this long. Default 3 × keepalive. */
  timeoutMs?: number;
  /** Open streams at most (both sides' together); a peer's stream beyond it is refused. Default 1024. */
  maxStreams?: number;
  /** Received bytes not yet credited back, summed over streams; a stream that would pass it is reset. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Times the keepalive (when the peer was last heard). Default the wall clock. */
  clock?: Clock;
}

/** A multiplexed session over one connection. */
export class MuxSession implements StreamCarrier {
  private readonly streams = new Map<number, MuxStream>();
  private nextId: number;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private readonly clock: Clock;
  private lastHeard: number;
  private acceptor: ((s: MuxStream) => void) | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];
  private buffered = 0;
  private readonly maxStreams: number;
  private readonly maxBuffered: number;
  private retryAfter: number | undefined;
  private heardFns: (() => void)[] = [];
  /** Frames not yet written: one write per turn (frameOutbox.ts). */
  private readonly out: FrameOutbox;

  constructor(
    private readonly conn: ByteStream,
    opts: MuxOptions,
  ) {
    this.out = new FrameOutbox(conn);
    this.nextId = opts.side === 'client' ? 1 : 2;
    this.clock = opts.clock ?? systemClock;
    this.lastHeard = this.clock.now();
    this.maxStreams = opts.maxStreams ?? 1024;
    this.maxBuffered = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    conn.on('data', (d) => this.onData(d));
    conn.on('close', () => this.close('connection closed'));
    conn.on('drain', () => {
      for (const s of this.streams.values()) s.flush();
    });
    const keepalive = opts.keepaliveMs ?? 15_000;
    const timeout = opts.timeoutMs ?? keepalive * 3;
    if (keepalive > 0) {
      this.pingTimer = setInterval(() => {
        if (this.clock.now() - this.lastHeard > timeout) {
          this.close('keepalive timeout');
          return;
        }
        this.sendFrame(T_PING, F_SYN, 0, this.clock.now() & 0x7fffffff);
      }, keepalive);
      this.pingTimer.unref?.();
    }
  }

  /** Sends a ping; resolves true once the peer answers anything, false when the session ends first (a busy go-away). */
  answered(): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(false);
      this.heardFns.push(() => resolve(true));
      this.closeHandlers.push(() => resolve(false));
      this.sendFrame(T_PING, F_SYN, 0, this.clock.now() & 0x7fffffff);
    });
  }

  /** Streams the peer opens are handed to `fn`. */
  onStream(fn: (s: MuxStream) => void): void {
    this.acceptor = fn;
  }

  /** Called once when the session ends, with why. */
  onClose(fn: (reason: string) => void): void {
    if (this.closed) fn('closed');
    else this.closeHandlers.push(fn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Number of open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Received bytes this side holds for its streams and has not credited back yet. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** @internal whether data frames should wait for the connection to drain. */
  get congested(): boolean {
    return (this.conn.writableLength ?? 0) + this.out.bytes > QUEUE_LIMIT;
  }

  /** Opens a stream to the peer; throws LimitExceeded when the session holds `maxStreams` already. */
  open(): MuxStream {
    if (this.closed) throw new MuxClosed('tunnel session is closed');
    if (this.streams.size >= this.maxStreams)
      throw new LimitExceeded(`the tunnel already carries ${this.maxStreams} streams`);
    const id = this.nextId;
    this.nextId += 2;
    const s = new MuxStream(id, this);
    this.streams.set(id, s);
    this.sendFrame(T_WINDOW, F_SYN, id, 0);
    return s;
  }

  /** @internal */
  sendFrame(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void {
    if (this.closed) return;
    this.out.push(encodeFrame(type, flags, id, length, payload));
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  /** @internal */
  released(n: number): void {
    this.buffered -= n;
  }

  private onData(d: Buffer): void {
    this.lastHeard = this.clock.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= HEADER) {
      const type = this.buf.readUInt8(1);
      const flags = this.buf.readUInt16BE(2);
      const id = this.buf.readUInt32BE(4);
      const length = this.buf.readUInt32BE(8);
      if (this.buf.readUInt8(0) !== VERSION || type > T_GOAWAY) {
        this.protocolError('bad frame header');
        return;
      }
      const need = type === T_DATA ? HEADER + length : HEADER;
      if (type === T_DATA && length > INITIAL_WINDOW) {
        this.protocolError(`a ${length}-byte data frame is larger than the ${INITIAL_WINDOW}-byte window`);
        return;
      }
      if (this.buf.length < need) return;
      const payload = this.buf.subarray(HEADER, need);
      this.buf = this.buf.subarray(need);
      this.frame(type, flags, id, length, payload);
      if (this.closed) return;
    }
    // Only control frames (credits, pings, resets) are written without waiting for 'drain'; a peer that keeps
    // sending them while never reading its side would grow our queue without end.
    if ((this.conn.writableLength ?? 0) + this.out.bytes > QUEUE_HARD_LIMIT)
      this.protocolError(`the peer left over ${QUEUE_HARD_LIMIT} bytes unread`);
  }

  private frame(type: number, flags: number, id: number, length: number, payload: Buffer): void {
    if (type === T_PING) {
      if (flags & F_SYN && !this.congested) this.sendFrame(T_PING, F_ACK, 0, length);
      for (const fn of this.heardFns.splice(0)) fn();
      return;
    }
    if (type === T_GOAWAY) {
      if (length === GOAWAY_BUSY) {
        this.retryAfter = id;
        this.close(`the peer is busy: come back in ${id} ms`);
      } else this.close('peer went away');
      return;
    }
    for (const fn of this.heardFns.splice(0)) fn();
    let s = this.streams.get(id);
    if (flags & F_SYN) {
      if (s || id === 0) {
        this.protocolError('duplicate stream');
        return;
      }
      if (this.streams.size >= this.maxStreams) {
        log.warn('tunnel stream refused: too many streams', { max: this.maxStreams });
        this.sendFrame(T_WINDOW, F_RST, id, 0);
        return;
      }
      s = new MuxStream(id, this);
      this.streams.set(id, s);
      this.sendFrame(T_WINDOW, F_ACK, id, 0);
      if (this.acceptor) this.acceptor(s);
      else s.destroy();
    }
    if (!s) return; // frames for a stream already closed here (or refused)
    if (type === T_WINDOW && length > 0) {
      s.sendWindow += length;
      s.flush();
    }
    if (type === T_DATA && payload.length && !this.data(s, payload)) return;
    if (flags & F_FIN) s.receiveFin();
    if (flags & F_RST) {
      this.forget(id);
      s.abort('stream reset by peer');
    }
  }

  /** Takes a data frame for `s` if the peer was allowed to send it; false when it was not (handled here). */
  private data(s: MuxStream, payload: Buffer): boolean {
    if (s.ended) {
      this.protocolError(`data on stream ${s.id} after its end`);
      return false;
    }
    if (payload.length > s.receiveWindow) {
      this.protocolError(
        `stream ${s.id} sent ${payload.length} bytes with ${s.receiveWindow} bytes of its window left`,
      );
      return false;
    }
    if (this.buffered + payload.length > this.maxBuffered) {
      log.warn('tunnel stream reset: receive buffers full', { stream: s.id, max: this.maxBuffered });
      this.forget(s.id);
      s.abort(`tunnel receive buffers are full (${this.maxBuffered} bytes held for slow readers)`);
      return false;
    }
    this.buffered += payload.length;
    s.receive(Buffer.from(payload));
    return true;
  }

  /** Closes the session because the peer broke the protocol; the reason says how. */
  private protocolError(what: string): void {
    log.warn('tunnel peer broke the protocol; closing the session', { reason: what });
    this.close(`protocol error: ${what}`, GOAWAY_PROTOCOL);
  }

  /** When the peer went away busy: in how many milliseconds it asked to be called again. */
  get retryAfterMs(): number | undefined {
    return this.retryAfter;
  }

  /** Ends the session and every stream, telling the peer why with a go-away `code` (GOAWAY_*; default normal). */
  close(reason = 'closed', code = 0): void {
    if (this.closed) return;
    this.sendFrame(T_GOAWAY, 0, 0, code);
    this.out.flush();
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    // Streams end with 'close' rather than 'error': a lost tunnel ends its sessions, it does not crash the process.
    for (const s of this.streams.values()) s.abort(`tunnel closed: ${reason}`);
    this.streams.clear();
    this.buf = Buffer.alloc(0);
    this.conn.destroy();
    for (const fn of this.closeHandlers.splice(0)) fn(reason);
  }
}
