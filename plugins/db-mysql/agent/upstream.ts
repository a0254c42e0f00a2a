/** The agent's connection to the database server: plain TCP for the greeting, then TLS with the client cert. */

import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Unavailable } from '../../../core/errors.ts';
import {
  buildHandshakeResponse,
  buildSslRequest,
  CLIENT,
  framePacket,
  type HandshakeResponse,
  type InitialHandshake,
  parseErr,
  parseInitialHandshake,
} from '../wire.ts';
import { abortError, PacketSource } from './packetSource.ts';

/** The largest packet the server may send before authentication ends (greetings are well under 1 KiB). */
export const LOGIN_MAX_PACKET = 64 * 1024;

/** How long the agent waits for the database to accept a TCP connection or finish a TLS handshake. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Resolves with `sock` once `event` fires; rejects (destroying it) on an error, the timeout or an abort. */
function settleOn<T extends Socket>(
  sock: T,
  event: 'connect' | 'secureConnect',
  what: string,
  signal: AbortSignal,
): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(
    () => fail(new Unavailable(`${what}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
    CONNECT_TIMEOUT_MS,
  );
  const onAbort = () => fail(abortError(signal));
  const onError = (err: Error) =>
    fail(new Unavailable(`${what}: ${err.message}`, { protocol: 'mysql' }, { cause: err }));
  const cleanup = () => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    sock.off('error', onError);
  };
  function fail(err: Error) {
    cleanup();
    sock.destroy();
    reject(err);
  }
  sock.once(event, () => {
    cleanup();
    resolve(sock);
  });
  sock.on('error', onError);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return promise;
}

/** A TCP connection to the database server. */
export function connectServer(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return settleOn(tcpConnect({ host, port }), 'connect', `cannot reach the database at ${host}:${port}`, signal);
}

/** TLS options the agent upgrades with: its client certificate, and what it verifies the server against. */
export interface UpstreamTls {
  cert: string;
  key: string;
  ca: string[];
  /** The host the certificate must name (DNS name or IP address). */
  host: string;
}

/** Upgrades `socket` (after the SSLRequest was sent) to TLS, verifying the server's certificate and name. */
export function startTls(socket: Socket, tls: UpstreamTls, signal: AbortSignal): Promise<TLSSocket> {
  const sock = tlsConnect({
    socket,
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    host: tls.host,
    // SNI carries DNS names only (RFC 6066); an IP address is still checked against the certificate's IP SANs.
    ...(isIP(tls.host) ? {} : { servername: tls.host }),
    rejectUnauthorized: true,
  });
  return settleOn(sock, 'secureConnect', `TLS to the database (${tls.host}) failed`, signal);
}

/** A fresh server connection that has sent its greeting. */
export interface Greeted {
  tcp: Socket;
  greeting: InitialHandshake;
}

/** Connects to the server and reads its greeting; a server that answers ERR or offers no TLS is Unavailable. */
export async function greet(host: string, port: number, signal: AbortSignal): Promise<Greeted> {
  const tcp = await connectServer(host, port, signal);
  const fromServer = new PacketSource(tcp, 'the database server', LOGIN_MAX_PACKET);
  try {
    const first = await fromServer.next(signal);
    const err = parseErr(first.payload);
    if (err) throw new Unavailable(`the database refused the connection: ${err.message}`, err);
    const greeting = parseInitialHandshake(first.payload);
    if (!(greeting.capabilities & CLIENT.SSL)) {
      throw new Unavailable('the database server does not offer TLS, and tp logs in to databases with certificates');
    }
    return { tcp, greeting };
  } catch (err) {
    tcp.destroy();
    throw err;
  } finally {
    fromServer.detach();
  }
}

/**
 * Sends an SSLRequest built from `response` (sequence id `seq`), upgrades to TLS with `tls` and sends the response
 * itself (CLIENT_SSL set) at `seq + 1`; the server's authentication answers are then read from `fromServer`.
 */
export async function sendSecureResponse(
  g: Greeted,
  response: HandshakeResponse,
  seq: number,
  tls: UpstreamTls,
  signal: AbortSignal,
): Promise<{ server: TLSSocket; fromServer: PacketSource }> {
  const secure = { ...response, capabilities: (response.capabilities | CLIENT.SSL) >>> 0 };
  g.tcp.write(framePacket(buildSslRequest(secure), seq));
  const server = await startTls(g.tcp, tls, signal);
  const fromServer = new PacketSource(server, 'the database server', LOGIN_MAX_PACKET);
  server.write(framePacket(buildHandshakeResponse(secure), seq + 1));
  return { server, fromServer };
}
