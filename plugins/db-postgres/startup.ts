// The first packets of a client connection: encryption requests answered "N" (the stream is already TLS to the
// proxy), then either a StartupMessage (a session) or a CancelRequest (psql's Ctrl+C, on a connection of its own).
import type { Duplex } from 'node:stream';
import { BadParameter, Unavailable } from '../../core/errors.ts';
import { ByteQueue } from '../../core/net/byteQueue.ts';
import { checkStartupHeader, ENCRYPTION_REFUSED, type FrontendMessage, parseStartup } from './wire.ts';

/** What the client opened the connection for. */
export type ClientOpening =
  | {
      type: 'startup';
      message: Extract<FrontendMessage, { type: 'StartupMessage' }>;
      /** Bytes the client sent after the StartupMessage (a pipelining client), to relay next. */
      rest: Buffer;
    }
  | { type: 'cancel'; pid: number; secret: Buffer };

/** Limits on the opening: its packets' size, how many encryption requests, and how long it may take. */
export interface OpeningLimits {
  maxPacket?: number;
  timeoutMs?: number;
}

/** More than an SSLRequest after a GSSENCRequest is a client going round in circles. */
const MAX_ENCRYPTION_REQUESTS = 2;

/**
 * Reads the client's opening from `stream`, answering SSLRequest/GSSENCRequest with "N". Resolves once a
 * StartupMessage or CancelRequest is whole, with the stream paused and its data listener removed (nothing is
 * lost: bytes past the StartupMessage come back as `rest`). Rejects with BadParameter or LimitExceeded for a
 * malformed, oversized or truncated packet, and with Unavailable when the session ends or the client is too slow.
 */
export function readOpening(stream: Duplex, signal: AbortSignal, limits: OpeningLimits = {}): Promise<ClientOpening> {
  const maxPacket = limits.maxPacket ?? 64 * 1024;
  const queue = new ByteQueue();
  let encryptionRequests = 0;
  return new Promise<ClientOpening>((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      stream.pause();
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const fail = (err: Error) => {
      stop();
      reject(err);
    };
    const onAbort = () => fail(new Unavailable(`the session ended before the client's startup`));
    const onError = (err: Error) => fail(new Unavailable(`the client connection failed: ${err.message}`));
    const onEnd = () => {
      if (queue.length === 0) return fail(new BadParameter('the client closed the connection before its startup'));
      const head = queue.peek(4);
      const announced = head ? ` (${queue.length} of the ${head.readInt32BE(0)} bytes its header announced)` : '';
      fail(new BadParameter(`truncated PostgreSQL startup packet: the client closed the connection${announced}`));
    };
    const onData = (chunk: Buffer) => {
      queue.push(chunk);
      try {
        for (;;) {
          const head = queue.peek(4);
          if (!head) return;
          const raw = queue.take(checkStartupHeader(head, maxPacket));
          if (!raw) return;
          const m = parseStartup(raw);
          if (m.type === 'SSLRequest' || m.type === 'GSSENCRequest') {
            if (++encryptionRequests > MAX_ENCRYPTION_REQUESTS) {
              throw new BadParameter(`the client asked for encryption ${encryptionRequests} times`);
            }
            stream.write(ENCRYPTION_REFUSED);
            continue;
          }
          stop();
          if (m.type === 'CancelRequest') return resolve({ type: 'cancel', pid: m.pid, secret: m.secret });
          if (m.type === 'StartupMessage') return resolve({ type: 'startup', message: m, rest: queue.takeAll() });
          throw new BadParameter(`unexpected PostgreSQL ${m.type} before the StartupMessage`);
        }
      } catch (err) {
        fail(err as Error);
      }
    };
    const timer = setTimeout(
      () => fail(new Unavailable(`the client sent no StartupMessage within ${limits.timeoutMs ?? 30_000} ms`)),
      limits.timeoutMs ?? 30_000,
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}
