import { readFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { profileKeysDir } from '../../core/client/profile.ts';
import { parseHostPort } from '../../core/net/index.ts';

/** A user's TLS client credentials from their tp profile (as `tp login` saved them). */
export function profileTls(proxy: string, home: string): { cert: string; key: string; ca: string } {
  const dir = profileKeysDir(proxy, home);
  return {
    cert: readFileSync(`${dir}/tls.crt`, 'utf8'),
    key: readFileSync(`${dir}/tls.key`, 'utf8'),
    ca: readFileSync(`${dir}/cas.pem`, 'utf8'),
  };
}

/** A plain TCP connection that is open (connected) when this resolves; errors are kept, not thrown. */
export async function openTcp(addr: string): Promise<Socket> {
  const [host, port] = parseHostPort(addr);
  const sock = tcpConnect({ host, port });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('close', () => reject(new Error(`connection to ${addr} closed before it opened`)));
  });
  return sock;
}

/** A TLS connection to the proxy with one ALPN protocol (and a client certificate when given), handshake done. */
export async function openTls(
  addr: string,
  alpn: string,
  creds: { cert?: string; key?: string; ca?: string } = {},
): Promise<TLSSocket> {
  const [host, port] = parseHostPort(addr);
  const sock = tlsConnect({
    host,
    port,
    ...creds,
    rejectUnauthorized: !!creds.ca,
    ALPNProtocols: [alpn],
    checkServerIdentity: () => undefined,
  });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('close', () => reject(new Error(`TLS connection to ${addr} closed during the handshake`)));
  });
  return sock;
}

/**
 * Resolves with how long after the call the server closed `sock` (its 'close', or its end of the stream), or
 * undefined when it was still open after `ms`. Reads and drops whatever arrives meanwhile.
 */
export function closedWithin(sock: Socket, ms: number): Promise<number | undefined> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (sock.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(undefined), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    };
    sock.once('close', done);
    sock.once('end', done);
    sock.resume();
  });
}
