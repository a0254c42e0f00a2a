import { Duplex } from 'node:stream';
import { TpError } from '../errors.ts';
import { F_FIN, F_RST, INITIAL_WINDOW, MAX_FRAME, T_DATA, T_WINDOW } from './muxFrame.ts';

/** Received bytes the consumer has taken beyond which the peer is credited: a quarter of the window. */
const CREDIT_AT = INITIAL_WINDOW / 4;

/** The session ended (peer closed, ping timeout, protocol error). */
export class MuxClosed extends TpError {}

/** What a stream needs from the session that carries it. */
export interface StreamCarrier {
  sendFrame(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void;
  /** The stream is done with its ID: frames naming it are dropped from now on. */
  forget(id: number): void;
  /** The stream gave back `n` bytes of receive buffer (taken by its consumer, or dropped at teardown). */
  released(n: number): void;
  /** Whether the connection's outgoing queue is full: data frames wait for its 'drain'. */
  readonly congested: boolean;
}

/** One multiplexed stream: a Duplex with its own flow control in both directions. */
export class MuxStream extends Duplex {
  /** Bytes the peer has allowed us to send. */
  sendWindow = INITIAL_WINDOW;
  /** Bytes received and not yet credited back: the part of our receive window the peer has used. */
  private uncredited = 0;
  /** Bytes received and not yet taken by the consumer (what this side really holds for the stream). */
  private unread = 0;
  private pendingWrite: { chunk: Buffer; cb: (err?: Error | null) => void } | undefined;
  private finSent = false;
  private finReceived = false;
  /** Why the stream was torn down without a clean end (reset by the peer, tunnel lost), if it was. */
  abortReason: string | undefined;

  constructor(
    readonly id: number,
    private readonly carrier: StreamCarrier,
  ) {
    super({ allowHalfOpen: true });
  }

  /**
   * The consumer took data: the session stops counting it as held, and the peer is credited once a quarter of the
   * window is used (yamux's rule of thumb: a window frame per small message was a TLS record each way per query,
   * while the peer, with three quarters of its window left, never waits for one).
   */
  override _read(): void {
    if (this.unread > 0) {
      this.carrier.released(this.unread);
      this.unread = 0;
    }
    if (this.uncredited >= CREDIT_AT) {
      this.carrier.sendFrame(T_WINDOW, 0, this.id, this.uncredited);
      this.uncredited = 0;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { chunk, cb };
    this.flush();
  }

  /** Sends as much of the pending write as the peer's window and the connection's queue allow. */
  flush(): void {
    const p = this.pendingWrite;
    if (!p) return;
    while (p.chunk.length > 0 && this.sendWindow > 0 && !this.carrier.congested) {
      const n = Math.min(p.chunk.length, this.sendWindow, MAX_FRAME);
      this.carrier.sendFrame(T_DATA, 0, this.id, n, p.chunk.subarray(0, n));
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
      this.carrier.sendFrame(T_WINDOW, F_FIN, this.id, 0);
    }
    this.maybeForget();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!(this.finSent && this.finReceived)) this.carrier.sendFrame(T_WINDOW, F_RST, this.id, 0);
    this.carrier.forget(this.id);
    this.carrier.released(this.unread);
    this.unread = 0;
    this.uncredited = 0;
    this.pendingWrite?.cb(err ?? new MuxClosed('stream closed'));
    this.pendingWrite = undefined;
    cb(err);
  }

  /** How many more bytes the peer may send before we credit it: what it advertised minus what it used. */
  get receiveWindow(): number {
    return INITIAL_WINDOW - this.uncredited;
  }

  /** Whether the peer already ended its side (more data from it is a protocol error). */
  get ended(): boolean {
    return this.finReceived;
  }

  /** @internal data from the peer; the session has checked it fits the receive window. */
  receive(data: Buffer): void {
    this.uncredited += data.length;
    this.unread += data.length;
    if (this.push(data)) this._read();
  }

  /** @internal the peer finished writing */
  receiveFin(): void {
    this.finReceived = true;
    this.push(null);
    this.maybeForget();
  }

  /** @internal tears the stream down, recording why. */
  abort(reason: string): void {
    this.abortReason = reason;
    this.destroy();
  }

  private maybeForget(): void {
    if (this.finSent && this.finReceived) this.carrier.forget(this.id);
  }
}
