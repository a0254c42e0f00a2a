import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import { parseHostPort } from '../net/index.ts';

/** A running direct mutual-TLS listener for the proxy. */
export interface DirectListener {
  /** The address the node advertises in its heartbeat. */
  addr: string;
  /** Swaps in a new certificate/CA set (after a rotation). */
  setSecureContext(o: { cert: string; key: string; ca: string | string[] }): void;
  close(): void;
}

/**
 * Listens on `listen` for the proxy over mutual TLS (ALPN `tp-node`): only a peer whose certificate says it is a
 * proxy reaches `onStream`; any other peer is dropped.
 */
export async function startDirectListener(o: {
  listen: string;
  advertise?: string;
  identity: HostIdentity;
  onStream: (sock: TLSSocket) => void;
}): Promise<DirectListener> {
  const [listenHost, listenPort] = parseHostPort(o.listen);
  // node:tls (13 MB) and the X.509 parser (9 MB) load only for direct mode.
  const { identityFromCert } = await import('../auth/identity.ts');
  const { createServer: createTlsServer } = await import('node:tls');
  const cur = o.identity;
  const server = createTlsServer(
    {
      cert: cur.tlsCert,
      key: cur.tlsKey,
      ca: cur.tlsCa,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['tp-node'],
    },
    (sock: TLSSocket) => {
      const peer = sock.getPeerCertificate();
      if (!peer?.raw || identityFromCert(peer.raw).kind !== 'proxy') return sock.destroy();
      o.onStream(sock);
    },
  );
  await new Promise<void>((r) => server.listen(listenPort, listenHost, () => r()));
  const a = server.address() as AddressInfo;
  return {
    addr: o.advertise ?? `${a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`,
    setSecureContext: (ctx) => server.setSecureContext(ctx),
    close: () => server.close(),
  };
}
