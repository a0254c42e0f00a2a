import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionLimits } from './connectionLimits.ts';

/** Per request being received: what lifts its body deadline. */
const lifts = new WeakMap<IncomingMessage, () => void>();

/**
 * Lets the body of `req` take as long as it needs, for a handler that streams a large body from an authenticated
 * caller (a file upload) and bounds the transfer itself (an idle timeout). Does nothing outside httpDeadlines.
 */
export function liftBodyDeadline(req: IncomingMessage): void {
  lifts.get(req)?.();
}

/**
 * Deadlines for connections handed to a node:http server with `emit('connection')`, where Bun applies none of
 * headersTimeout / requestTimeout / keepAliveTimeout: a connection is destroyed when a request's headers or body
 * take longer than `requestMs`, or when it sits idle between requests longer than `idleMs`. While a handler works
 * on a request there is no deadline; an upgraded connection (WebSocket) leaves these deadlines for good.
 * Returns the function that takes a connection under watch.
 */
export function httpDeadlines(http: Server, limits: Pick<ConnectionLimits, 'requestMs' | 'idleMs'>) {
  const timers = new WeakMap<object, ReturnType<typeof setTimeout>>();
  const arm = (sock: Socket, ms: number | undefined) => {
    clearTimeout(timers.get(sock));
    if (ms === undefined || sock.destroyed) return;
    timers.set(
      sock,
      setTimeout(() => sock.destroy(), ms),
    );
  };
  http.on('request', (req, res) => {
    const sock = req.socket as Socket;
    const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined;
    // The headers are in; a body, if any, must follow in time. Then the handler has no deadline until it answers.
    arm(sock, hasBody ? limits.requestMs : undefined);
    if (hasBody) lifts.set(req, () => arm(sock, undefined));
    if (hasBody)
      req.once('end', () => {
        if (!res.writableFinished) arm(sock, undefined);
      });
    res.once('finish', () => arm(sock, limits.idleMs));
  });
  http.on('upgrade', (req) => arm(req.socket as Socket, undefined));
  return (sock: Socket): void => {
    arm(sock, limits.requestMs);
    sock.once('close', () => arm(sock, undefined));
  };
}
