import { Duplex } from 'node:stream';
import { TpError } from '../errors.ts';

/**
 * Stream multiplexing over one reliable connection, after the yamux spec (hashicorp/yamux spec.md): 12-byte
 * header [version u8][type u8][flags u16][stream id u32][length u32]; types data/window/ping/go-away; flags
 * SYN/ACK/FIN/RST; a 256 KiB credit window per stream and direction; pings for liveness. The dialer uses odd
 * stream IDs and the listener even ones.
 */

const VERSION = 0;
const T_DATA = 0;
const T_WINDOW = 1;
const T_PING = 2;
const T_GOAWAY = 3;
const F_SYN = 1;
const F_ACK = 2;
const F_FIN = 4;
const F_RST = 8;
const HEADER = 12;
export const INITIAL_WINDOW = 256 * 1024;
const MAX_FRAME = 64 * 1024;

/** The session ended (peer closed, ping timeout, protocol error). */
export class MuxClosed extends TpError {}

/** Anything the session can run over: a TLS or TCP socket, or a test pipe. */
export interface ByteStream {
  write(data: Uint8Array): boolean;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close' | 'drain', fn: () => void): unknown;
  once(event: 'drain', fn: () => void): unknown;
  destroy(): void;
}

export interface MuxOptions {
  /** 'client' opens odd stream IDs, 'server' even ones. */
  side: 'client' | 'server';
  /** Ping interval; 0 disables. Default 15 s. */
  keepaliveMs?: number;
  /** Close the session when a ping is unanswered this long. Default 3 × keepalive. */
  timeoutMs?: number;
}

/** One multiplexed stream: a Duplex with its own flow control. */
export class MuxStream extends Duplex {
  /** Bytes the peer has allowed us to send. */
  sendWindow = INITIAL_WINDOW;
  /** Bytes received and consumed but not yet credited back. */
  private unacked = 0;
  private pendingWrite: { chunk: Buffer; cb: (err?: Error | null) => void } | undefined;
  private finSent = false;
  private finReceived = false;
  /** Why the stream was torn down without a clean end (reset by the peer, tunnel lost), if it was. */
  abortReason: string | undefined;

  constructor(
    readonly id: number,
    private readonly session: MuxSession,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Credits the peer after the consumer took data. */
  override _read(): void {
    if (this.unacked > 0) {
      this.session.sendFrame(T_WINDOW, 0, this.id, this.unacked);
      this.unacked = 0;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { chunk, cb };
    this.flush();
  }

  /** Sends as much of the pending write as the window allows. */
  flush(): void {
    const p = this.pendingWrite;
    if (!p) return;
    while (p.chunk.length > 0 && this.sendWindow > 0) {
      const n = Math.min(p.chunk.length, this.sendWindow, MAX_FRAME);
      this.session.sendFrame(T_DATA, 0, this.id, n, p.chunk.subarray(0, n));
      this.sendWindow -= n;
      p.chunk = p.chunk.subarray(n);
    }
    if (p.chunk.length === 0) {
      this.pendingWrite = undefined;
      p.cb();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.finSent) {
      this.finSent = true;
      this.session.sendFrame(T_WINDOW, F_FIN, this.id, 0);
    }
    this.maybeForget();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!(this.finSent && this.finReceived)) this.session.sendFrame(T_WINDOW, F_RST, this.id, 0);
    this.session.forget(this.id);
    this.pendingWrite?.cb(err ?? new MuxClosed('stream closed'));
    this.pendingWrite = undefined;
    cb(err);
  }

  /** @internal data from the peer */
  receive(data: Buffer): void {
    this.unacked += data.length;
    if (this.push(data)) this._read();
  }

  /** @internal the peer finished writing */
  receiveFin(): void {
    this.finReceived = true;
    this.push(null);
    this.maybeForget();
  }

  private maybeForget(): void {
    if (this.finSent && this.finReceived) this.session.forget(this.id);
  }
}

/** A multiplexed session over one connection. */
export class MuxSession {
  private readonly streams = new Map<number, MuxStream>();
  private nextId: number;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastHeard = Date.now();
  private acceptor: ((s: MuxStream) => void) | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];

  constructor(
    private readonly conn: ByteStream,
    opts: MuxOptions,
  ) {
    this.nextId = opts.side === 'client' ? 1 : 2;
    conn.on('data', (d) => this.onData(d));
    conn.on('close', () => this.close('connection closed'));
    const keepalive = opts.keepaliveMs ?? 15_000;
    const timeout = opts.timeoutMs ?? keepalive * 3;
    if (keepalive > 0) {
      this.pingTimer = setInterval(() => {
        if (Date.now() - this.lastHeard > timeout) {
          this.close('keepalive timeout');
          return;
        }
        this.sendFrame(T_PING, F_SYN, 0, Date.now() & 0x7fffffff);
      }, keepalive);
      this.pingTimer.unref?.();
    }
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

  /** Opens a stream to the peer. */
  open(): MuxStream {
    if (this.closed) throw new MuxClosed('tunnel session is closed');
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
    const h = Buffer.allocUnsafe(HEADER);
    h.writeUInt8(VERSION, 0);
    h.writeUInt8(type, 1);
    h.writeUInt16BE(flags, 2);
    h.writeUInt32BE(id, 4);
    h.writeUInt32BE(length, 8);
    this.conn.write(payload ? Buffer.concat([h, payload]) : h);
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private onData(d: Buffer): void {
    this.lastHeard = Date.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= HEADER) {
      const type = this.buf.readUInt8(1);
      const flags = this.buf.readUInt16BE(2);
      const id = this.buf.readUInt32BE(4);
      const length = this.buf.readUInt32BE(8);
      if (this.buf.readUInt8(0) !== VERSION || type > T_GOAWAY) {
        this.close('protocol error: bad frame header');
        return;
      }
      const need = type === T_DATA ? HEADER + length : HEADER;
      if (type === T_DATA && length > INITIAL_WINDOW) {
        this.close('protocol error: frame larger than window');
        return;
      }
      if (this.buf.length < need) return;
      const payload = this.buf.subarray(HEADER, need);
      this.buf = this.buf.subarray(need);
      this.frame(type, flags, id, length, payload);
      if (this.closed) return;
    }
  }

  private frame(type: number, flags: number, id: number, length: number, payload: Buffer): void {
    if (type === T_PING) {
      if (flags & F_SYN) this.sendFrame(T_PING, F_ACK, 0, length);
      return;
    }
    if (type === T_GOAWAY) {
      this.close('peer went away');
      return;
    }
    let s = this.streams.get(id);
    if (flags & F_SYN) {
      if (s || id === 0) {
        this.close('protocol error: duplicate stream');
        return;
      }
      s = new MuxStream(id, this);
      this.streams.set(id, s);
      this.sendFrame(T_WINDOW, F_ACK, id, 0);
      if (this.acceptor) this.acceptor(s);
      else s.destroy();
    }
    if (!s) return; // frames for a stream we already closed
    if (type === T_WINDOW && length > 0) {
      s.sendWindow += length;
      s.flush();
    }
    if (type === T_DATA && payload.length) s.receive(Buffer.from(payload));
    if (flags & F_FIN) s.receiveFin();
    if (flags & F_RST) {
      this.streams.delete(id);
      s.abortReason = 'stream reset by peer';
      s.destroy();
    }
  }

  /** Ends the session and every stream. */
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.sendFrame(T_GOAWAY, 0, 0, 0);
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    // Streams end with 'close' rather than 'error': a lost tunnel ends its sessions, it does not crash the process.
    for (const s of this.streams.values()) {
      s.abortReason = `tunnel closed: ${reason}`;
      s.destroy();
    }
    this.streams.clear();
    this.conn.destroy();
    for (const fn of this.closeHandlers.splice(0)) fn(reason);
  }
}
