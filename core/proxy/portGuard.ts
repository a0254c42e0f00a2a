import type { Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { type ConnectionLimits, PerAddressLimit } from '../net/connectionLimits.ts';

/** Admission on a TLS port, as `guardTlsPort` sets it up. */
export interface TlsPortGuard {
  /** The connection presented a verified certificate: it no longer counts against its address's limit. */
  authenticated(socket: TLSSocket): void;
  /** The per-address count of connections that have not authenticated. */
  limit: PerAddressLimit;
}

/**
 * Holds each source address to `unauthenticatedPerIp` connections until they authenticate (a connection counts
 * from its first packet; it stops counting when it shows a verified certificate or closes), and closes every
 * connection whose handshake fails or outlasts the server's `handshakeTimeout`: Bun reports those but leaves the
 * socket open.
 */
export function guardTlsPort(server: TlsServer, limits: Pick<ConnectionLimits, 'unauthenticatedPerIp'>): TlsPortGuard {
  const limit = new PerAddressLimit(limits.unauthenticatedPerIp);
  const releases = new Map<string, () => void>();
  const key = (s: Socket) => `${s.remoteAddress}:${s.remotePort}`;
  const forget = (k: string, fn: () => void) => {
    fn();
    if (releases.get(k) === fn) releases.delete(k);
  };
  const releaseNow = (s: Socket) => {
    const k = key(s);
    const fn = releases.get(k);
    if (fn) forget(k, fn);
  };
  server.on('connection', (raw: Socket) => {
    const admitted = limit.admit(raw.remoteAddress ?? '');
    if (!admitted) {
      log.debug('connection refused: too many unauthenticated connections from its address', {
        remote: raw.remoteAddress,
        max: limit.max,
      });
      raw.destroy();
      return;
    }
    const k = key(raw);
    releases.set(k, admitted);
    raw.once('close', () => forget(k, admitted));
  });
  server.on('tlsClientError', (err, sock) => {
    log.debug('TLS handshake failed', { error: describe(err) });
    if (sock) {
      releaseNow(sock);
      sock.destroy();
    }
  });
  server.on('secureConnection', (sock: TLSSocket) => {
    const k = key(sock);
    const fn = releases.get(k);
    if (fn) sock.once('close', () => forget(k, fn));
  });
  return { authenticated: releaseNow, limit };
}
