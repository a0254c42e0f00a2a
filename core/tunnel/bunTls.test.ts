import { describe, expect, test } from 'bun:test';
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { generateKeyPair } from '../crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../crypto/x509.ts';
import { Unavailable } from '../errors.ts';
import { connectTls } from './bunTls.ts';

/** A TCP server that does `withSocket` to each connection, on a free loopback port. */
async function tcpServer(withSocket: (s: Socket) => void) {
  const server = createServer(withSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

const ca = await createTlsCA('dial.test', Date.now());

/** Dials `port` as an agent would, with a client certificate of a test CA. */
async function dial(port: number, handshakeTimeoutMs?: number) {
  const k = generateKeyPair('p256');
  const cert = await issueTlsCert({
    ca,
    publicKey: k.publicKey,
    subject: { commonName: 'agent', identity: { kind: 'node' } },
    now: Date.now(),
    ttlMs: 60_000,
    usage: 'client',
  });
  const key = k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return connectTls({ host: '127.0.0.1', port, ca: [ca.cert], cert, key, alpn: 'tp-tunnel', handshakeTimeoutMs });
}

describe('connectTls: a dial always ends', () => {
  test('a server that drops the connection during the handshake is Unavailable at once, not a hang', async () => {
    // Reads the ClientHello, then closes without a word: a restarting or overloaded proxy.
    const srv = await tcpServer((s) => s.once('data', () => s.destroy()));
    try {
      const t0 = Date.now();
      const err = await dial(srv.port).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Error).message).toMatch(/TLS handshake|closed the connection/);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      srv.close();
    }
  });

  test('a server that never answers the handshake times out', async () => {
    const held: Socket[] = [];
    const srv = await tcpServer((s) => held.push(s));
    try {
      const err = await dial(srv.port, 300).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Error).message).toContain('did not finish within 300 ms');
    } finally {
      for (const s of held) s.destroy();
      srv.close();
    }
  });

  test('bytes and a close that come before anyone listens are still delivered, in order', async () => {
    const k = generateKeyPair('p256');
    const cert = await issueTlsCert({
      ca,
      publicKey: k.publicKey,
      subject: { commonName: 'proxy', identity: { kind: 'proxy' } },
      now: Date.now(),
      ttlMs: 60_000,
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    const key = k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    // A busy proxy: the go-away goes out with the end of the handshake, then the connection ends.
    const server = createTlsServer({ cert, key, ca: [ca.cert], requestCert: true, ALPNProtocols: ['tp-tunnel'] }, (s) =>
      s.end('come back later'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const stream = await dial((server.address() as { port: number }).port);
      await Bun.sleep(200); // the gap before the tunnel's reader is set up
      const events: string[] = [];
      stream.on('data', (d: Buffer) => events.push(`data:${d.toString()}`));
      const closed = new Promise<void>((r) => stream.on('close', () => r()));
      await closed;
      expect(events.join('')).toBe('data:come back later');
    } finally {
      server.close();
    }
  });
});
