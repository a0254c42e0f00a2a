import { EventEmitter } from 'node:events';
import type { Socket } from 'bun';
import { Unavailable, WrongServer } from '../errors.ts';
import { certRole, type ServerRole } from '../net/serverRole.ts';
import type { ByteStream } from './byteStream.ts';

/** TLS client settings for `connectTls`. */
export interface TlsDial {
  host: string;
  port: number;
  ca: string | string[];
  cert: string;
  key: string;
  alpn: string;
  serverName?: string;
  /** The tp role the server's certificate must name (`O=system:<role>`), checked before any byte is sent. */
  serverRole?: ServerRole;
  /** How long the TCP connect and TLS handshake may take together (ms). Default 30 s. */
  handshakeTimeoutMs?: number;
}

/**
 * A TLS client connection on Bun's native sockets, as the byte stream the tunnel multiplexer runs on. Measured:
 * node:tls adds 13 MB of resident memory per process, Bun's sockets 4 MB, which keeps an idle agent in budget.
 */
class NativeTlsStream extends EventEmitter implements ByteStream {
  private queue: Uint8Array[] = [];
  private ended = false;
  /** Bytes that arrived before anyone listened (a proxy's busy go-away can come right after the handshake). */
  private early: Buffer[] = [];
  /** The socket closed before anyone listened for it. */
  private closedUnheard = false;
  socket: Socket<undefined> | undefined;

  /**
   * Listens like EventEmitter, but a reader that comes late still gets what came first: bytes that arrived before
   * the first 'data' listener are handed to it at once, and a close that came before any 'close' listener is told
   * to it on the next microtask (after the bytes). Without this, the gap between the handshake and the tunnel's
   * setup lost a busy proxy's go-away and its close, and the dial never ended.
   */
  override on(event: string | symbol, fn: (...args: never[]) => void): this {
    super.on(event, fn as (...args: unknown[]) => void);
    if (event === 'data' && this.early.length) for (const chunk of this.early.splice(0)) this.emit('data', chunk);
    if (event === 'close' && this.closedUnheard) {
      this.closedUnheard = false;
      queueMicrotask(() => this.emit('close'));
    }
    return this;
  }

  /** @internal Bun's data callback. */
  received(chunk: Buffer): void {
    if (this.listenerCount('data')) this.emit('data', chunk);
    else this.early.push(chunk);
  }

  /** Bytes queued here until the kernel takes them. */
  get writableLength(): number {
    let n = 0;
    for (const q of this.queue) n += q.length;
    return n;
  }

  /** Writes now if the kernel takes it, else queues until 'drain'. */
  write(data: Uint8Array): boolean {
    if (this.ended || !this.socket) return false;
    if (this.queue.length) {
      this.queue.push(data);
      return false;
    }
    const n = this.socket.write(data);
    if (n < data.length) {
      this.queue.push(data.subarray(Math.max(0, n)));
      return false;
    }
    return true;
  }

  /** @internal Bun's drain callback. */
  flushQueue(): void {
    while (this.queue.length && this.socket) {
      const head = this.queue[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
    this.emit('drain');
  }

  destroy(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket?.end();
    this.emit('close');
  }

  /** @internal */
  closed(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.listenerCount('close')) this.emit('close');
    else this.closedUnheard = true;
  }
}

/** Opens a TLS connection with a client certificate and one ALPN protocol; rejects with Unavailable. */
export async function connectTls(d: TlsDial): Promise<ByteStream & EventEmitter> {
  const stream = new NativeTlsStream();
  const alpn = Buffer.concat([Buffer.from([d.alpn.length]), Buffer.from(d.alpn, 'latin1')]);
  /** Settles the dial once (success, or the first failure); later calls do nothing. */
  let settle: ((err?: Error) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = (err) => {
      settle = undefined;
      if (err) reject(err);
      else resolve();
    };
  });
  const opened = () => settle?.();
  const failed = (err: Error) => settle?.(err);
  // A server that drops the connection mid-handshake (a proxy restarting, or shedding load) sends no error: the
  // socket just closes. Without these two the dial would wait forever, and an agent would never come back.
  const ms = d.handshakeTimeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    failed(new Unavailable(`TLS handshake with ${d.host}:${d.port} did not finish within ${ms} ms`));
    stream.socket?.end();
  }, ms);
  try {
    stream.socket = await Bun.connect({
      hostname: d.host,
      port: d.port,
      tls: { ca: d.ca, cert: d.cert, key: d.key, ALPNProtocols: alpn, serverName: d.serverName } as never,
      socket: {
        handshake(s, success, err) {
          const role = success && d.serverRole ? certRole(s.getPeerCertificate() ?? {}) : d.serverRole;
          if (success && role !== d.serverRole) {
            s.end();
            failed(
              new WrongServer(
                `the server at ${d.host}:${d.port} presented ${role ? `a ${role}` : 'a non-tp'} certificate, not a ${d.serverRole}'s`,
              ),
            );
          } else if (success) opened();
          else
            failed(
              new Unavailable(`TLS handshake with ${d.host}:${d.port} failed: ${err?.message ?? 'unverified peer'}`),
            );
        },
        data(_s, chunk) {
          stream.received(Buffer.from(chunk));
        },
        drain() {
          stream.flushQueue();
        },
        close() {
          failed(new Unavailable(`${d.host}:${d.port} closed the connection during the TLS handshake`));
          stream.closed();
        },
        error(_s, err) {
          failed(new Unavailable(`connection to ${d.host}:${d.port} failed: ${err.message}`));
          stream.closed();
        },
      },
    });
  } catch (err) {
    clearTimeout(timer);
    settle = undefined; // the connect itself failed: nothing may settle `ready` after this
    throw new Unavailable(`cannot connect to ${d.host}:${d.port}: ${(err as Error).message}`);
  }
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return stream;
}
