import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

/** A TLS server on 127.0.0.1 posing as a proxy or auth server: it counts the application bytes clients send it. */
export interface FakeServer extends AsyncDisposable {
  addr: string;
  /** Bytes received after the TLS handshake, over every connection so far. */
  received(): number;
}

/** Serves `cert` (any certificate, e.g. a node's) on 127.0.0.1:0, answering nothing and recording what arrives. */
export async function startFakeServer(tls: { cert: string; key: string }): Promise<FakeServer> {
  let bytes = 0;
  const sockets = new Set<TLSSocket>();
  const server = createServer({ cert: tls.cert, key: tls.key, ALPNProtocols: ['http/1.1', 'tp-ssh'] }, (sock) => {
    sockets.add(sock);
    sock.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
  });
  // Clients that refuse the certificate abort the handshake: that is the expected outcome, not a failure.
  server.on('tlsClientError', (err) => void err);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    addr: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => bytes,
    [Symbol.asyncDispose]: close,
  };
}
