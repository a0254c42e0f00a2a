import { EventEmitter } from 'node:events';
import type { Socket } from 'bun';
import { Unavailable, WrongServer } from '../errors.ts';
import { certRole, type ServerRole } from '../net/serverRole.ts';
import type { ByteStream } from './mux.ts';

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
}

/**
 * A TLS client connection on Bun's native sockets, as the byte stream the tunnel multiplexer runs on. Measured:
 * node:tls adds 13 MB of resident memory per process, Bun's sockets 4 MB, which keeps an idle agent in budget.
 */
class NativeTlsStream extends EventEmitter implements ByteStream {
  private queue: Uint8Array[] = [];
  private ended = false;
  socket: Socket<undefined> | undefined;

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
    this.emit('close');
  }
}

/** Opens a TLS connection with a client certificate and one ALPN protocol; rejects with Unavailable. */
export async function connectTls(d: TlsDial): Promise<ByteStream & EventEmitter> {
  const stream = new NativeTlsStream();
  const alpn = Buffer.concat([Buffer.from([d.alpn.length]), Buffer.from(d.alpn, 'latin1')]);
  let opened!: () => void;
  let failed!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    opened = resolve;
    failed = reject;
  });
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
          stream.emit('data', Buffer.from(chunk));
        },
        drain() {
          stream.flushQueue();
        },
        close() {
          stream.closed();
        },
        error(_s, err) {
          failed(new Unavailable(`connection to ${d.host}:${d.port} failed: ${err.message}`));
          stream.closed();
        },
      },
    });
  } catch (err) {
    throw new Unavailable(`cannot connect to ${d.host}:${d.port}: ${(err as Error).message}`);
  }
  await ready;
  return stream;
}
