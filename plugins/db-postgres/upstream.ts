// The agent's connection to the database server: TCP, SSLRequest, then TLS that verifies the server's certificate
// and presents the ephemeral client certificate. tp never talks to a database in plain text.
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { checkServerIdentity, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { BadParameter, Unavailable } from '../../core/errors.ts';
import { cancelRequest, sslRequest } from './wire.ts';

/** Where a database server listens, and the name its certificate must carry. */
export interface ServerAddress {
  host: string;
  port: number;
  /** The DNS name or IP address checked against the server's certificate. */
  serverName: string;
}

/** The TLS material for one connection: the CAs to verify the server with and, for a session, the client cert. */
export interface ServerTls {
  ca: string[];
  cert?: string;
  key?: string;
}

const DEFAULT_PORT = 5432;
const CONNECT_TIMEOUT_MS = 10_000;

/** Parses `host:port`, `[v6]:port` or `postgres://host:port` (port 5432 when absent) into an address. */
export function parseServerAddress(uri: string, tlsServerName?: string): ServerAddress {
  const m = /^(?:postgres(?:ql)?:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/.exec(uri);
  const port = Number(m?.[2] ?? DEFAULT_PORT);
  if (!m || port < 1 || port > 65535) throw new BadParameter(`database address "${uri}" is not host:port`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port, serverName: tlsServerName ?? host };
}

function describeAddress(a: ServerAddress): string {
  return `the database server at ${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Opens TCP to the server, sends SSLRequest and resolves once the server said `S` (ready for TLS). */
function startTls(a: ServerAddress, signal?: AbortSignal): Promise<Socket> {
  const what = describeAddress(a);
  if (signal?.aborted) return Promise.reject(new Unavailable(`gave up connecting to ${what}: the session ended`));
  return new Promise<Socket>((resolve, reject) => {
    // No Nagle delay: a relay forwards small request/answer messages one at a time (libpq and the server do the same).
    const raw = tcpConnect({ host: a.host, port: a.port, noDelay: true });
    const fail = (err: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      raw.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Unavailable(`gave up connecting to ${what}: the session ended`));
    const timer = setTimeout(() => fail(new Unavailable(`timed out connecting to ${what}`)), CONNECT_TIMEOUT_MS);
    signal?.addEventListener('abort', onAbort, { once: true });
    raw.once('error', (err) => fail(new Unavailable(`cannot reach ${what}: ${err.message}`)));
    raw.once('connect', () => raw.write(sslRequest()));
    raw.once('data', (answer: Buffer) => {
      if (answer.length === 1 && answer[0] === 0x53) {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        raw.removeAllListeners('error');
        raw.pause();
        return resolve(raw);
      }
      const why =
        answer[0] === 0x4e
          ? 'it does not accept TLS (it answered "N" to SSLRequest); tp connects to databases only over TLS'
          : `it answered SSLRequest with ${JSON.stringify(answer.subarray(0, 16).toString('latin1'))}`;
      fail(new Unavailable(`cannot use ${what}: ${why}`));
    });
  });
}

/**
 * Connects to the server over verified TLS: resolves with the socket once the handshake is done and the server's
 * certificate chains to `tls.ca` and names `serverName`; rejects with Unavailable (unreachable, no TLS, bad cert).
 */
export async function dialServer(a: ServerAddress, tls: ServerTls, signal?: AbortSignal): Promise<TLSSocket> {
  const raw = await startTls(a, signal);
  const what = describeAddress(a);
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect({
      socket: raw,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: isIP(a.serverName) ? undefined : a.serverName,
      checkServerIdentity: (_host, cert) => checkServerIdentity(a.serverName, cert),
    });
    const timer = setTimeout(
      () => fail(new Unavailable(`timed out in the TLS handshake with ${what}`)),
      CONNECT_TIMEOUT_MS,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      reject(err);
    };
    socket.once('error', (err) => fail(new Unavailable(`TLS to ${what} failed: ${err.message}`)));
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * Sends a CancelRequest for backend `pid` over its own TLS connection (no client certificate: PostgreSQL reads a
 * cancel before any authentication) and closes it. The server never answers a cancel.
 */
export async function sendCancel(a: ServerAddress, ca: string[], pid: number, secret: Uint8Array): Promise<void> {
  const socket = await dialServer(a, { ca });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, CONNECT_TIMEOUT_MS);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Unavailable(`sending a cancel to ${describeAddress(a)} failed: ${err.message}`));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end(cancelRequest(pid, secret));
  });
}
