import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.ts';
import { describe } from '../errors.ts';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import { log } from '../log.ts';
import { type Backoff, backoffDelay, DEFAULT_BACKOFF } from '../net/backoff.ts';
import { parseHostPort } from '../net/index.ts';
import { connectTls } from '../tunnel/bunTls.ts';
import { MuxSession } from '../tunnel/mux.ts';

/** The agent's reverse tunnel to the proxy. */
export interface TunnelClient {
  /** True while the tunnel is connected. */
  up(): boolean;
  /** Closes the tunnel and stops reconnecting. */
  close(reason: string): void;
}

/**
 * Holds a reverse tunnel (ALPN `tp-tunnel`) to `proxy` with the identity `current()` returns at each attempt,
 * handing every stream the proxy opens to `onStream`. A lost or failed connection is retried with jittered
 * exponential backoff (the count resets once a connection was up); `onUp` runs after each connect.
 */
export function startTunnelClient(o: {
  proxy: string;
  current: () => HostIdentity;
  onStream: (s: Duplex) => void;
  onUp: () => void;
  /** Called with each failed connection attempt's error, or the reason an established tunnel closed. */
  onDown?: (err: unknown) => void;
  backoff?: Backoff;
  keepaliveMs?: number;
  /** Times the tunnel's keepalive. Default the wall clock. */
  clock?: Clock;
}): TunnelClient {
  let closed = false;
  let tunnel: MuxSession | undefined;
  const connectTunnel = async (attempt: number): Promise<void> => {
    if (closed) return;
    const [host, proxyPort] = parseHostPort(o.proxy);
    let up = false;
    const retry = (why: string, comeBackMs?: number) => {
      if (closed) return;
      // A busy proxy says when to come back (already spread over its fleet): keep to it, with a little jitter
      // of our own, and count the attempt as failed so that a proxy that stays away still backs us off.
      const next = up && comeBackMs === undefined ? 0 : attempt + 1;
      const delay =
        comeBackMs !== undefined
          ? comeBackMs * (1 + 0.1 * Math.random())
          : backoffDelay(o.backoff ?? DEFAULT_BACKOFF, next);
      log.info('tunnel down; reconnecting', { why, inMs: Math.round(delay) });
      setTimeout(() => void connectTunnel(next), delay);
    };
    let sock: Awaited<ReturnType<typeof connectTls>>;
    try {
      const cur = o.current();
      sock = await connectTls({
        host,
        port: proxyPort,
        ca: cur.tlsCa,
        cert: cur.tlsCert,
        key: cur.tlsKey,
        alpn: 'tp-tunnel',
        serverRole: 'proxy',
        serverName: /^[\d.]+$/.test(host) ? undefined : host,
      });
    } catch (err) {
      o.onDown?.(err);
      return retry(describe(err));
    }
    if (closed) return sock.destroy();
    const session = new MuxSession(sock, { side: 'client', keepaliveMs: o.keepaliveMs ?? 15_000, clock: o.clock });
    tunnel = session;
    session.onStream(o.onStream);
    session.onClose((reason) => {
      if (!closed) o.onDown?.(new Error(`tunnel closed: ${reason}`));
      retry(reason, session.retryAfterMs);
    });
    // Up once the proxy answers: a busy proxy's go-away arrives instead, and we come back when it says.
    if (!(await session.answered())) return;
    up = true;
    log.info('tunnel up', { proxy: o.proxy });
    o.onUp();
  };
  void connectTunnel(0);
  return {
    up: () => !!tunnel && !tunnel.isClosed,
    close: (reason) => {
      closed = true;
      tunnel?.close(reason);
    },
  };
}
