import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { CertFiles } from './dbPki.ts';
import type { PostgresServer } from './postgresServer.ts';

/** The bytes of one recorded connection: what the client sent (as sent) and what the server sent (after TLS). */
export interface PgRecording {
  client(): Buffer;
  server(): Buffer;
  /** Resolves when both sides have closed. */
  done: Promise<void>;
}

/** A loopback listener that relays stock clients to the fixture and keeps every byte; stops with close(). */
export interface PgRecorder extends AsyncDisposable {
  port: number;
  sessions: PgRecording[];
  close(): Promise<void>;
}

// Written by hand from the protocol spec (not with the codec under test): length 8, code 1234.5679.
const SSL_REQUEST = Buffer.from('0000000804d2162f', 'hex');

/**
 * Starts a recorder: a client speaks plain protocol to it (its SSLRequest is answered "N"); the recorder opens TLS
 * to `pg` with `cert` (SSLRequest, 'S', handshake) and relays both ways, recording the client's bytes before any
 * change and the server's bytes after decryption. Independent of tp's codec, so tests can parse what it records.
 */
export async function startPostgresRecorder(pg: PostgresServer, cert: CertFiles): Promise<PgRecorder> {
  const sessions: PgRecording[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const fromClient: Buffer[] = [];
    const fromServer: Buffer[] = [];
    let pending: Buffer[] = [];
    let head: Buffer | undefined = Buffer.alloc(0); // the first bytes, until we know whether they are an SSLRequest
    let upstream: Socket | undefined;
    let closed = 0;
    const { promise: done, resolve: finish } = Promise.withResolvers<void>();
    const onClose = () => {
      if (++closed === 2) finish();
    };
    sessions.push({ client: () => Buffer.concat(fromClient), server: () => Buffer.concat(fromServer), done });
    const forward = (b: Buffer) => {
      if (upstream) upstream.write(b);
      else pending.push(b);
    };
    client.on('data', (b: Buffer) => {
      fromClient.push(b);
      if (head) {
        head = Buffer.concat([head, b]);
        if (head.length < 8) return;
        const rest = head.subarray(head.subarray(0, 8).equals(SSL_REQUEST) ? 8 : 0);
        if (rest.length !== head.length) client.write('N');
        head = undefined;
        if (rest.length) forward(rest);
        return;
      }
      forward(b);
    });
    const raw = tcpConnect(pg.port, '127.0.0.1', () => raw.write(SSL_REQUEST));
    sockets.add(raw);
    raw.once('data', (answer: Buffer) => {
      if (answer.toString() !== 'S')
        return client.destroy(new Error(`server answered SSLRequest with ${answer.toString('hex')}`));
      const tls = tlsConnect({ socket: raw, ca: pg.caPem, cert: cert.cert, key: cert.key, servername: 'localhost' });
      tls.on('secureConnect', () => {
        upstream = tls;
        for (const b of pending) tls.write(b);
        pending = [];
      });
      tls.on('data', (b: Buffer) => {
        fromServer.push(b);
        client.write(b);
      });
      tls.on('close', () => {
        client.end();
        onClose();
      });
      tls.on('error', () => client.destroy());
      client.on('end', () => tls.end());
    });
    raw.on('error', () => client.destroy());
    client.on('error', () => raw.destroy());
    client.on('close', onClose);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { port, sessions, close, [Symbol.asyncDispose]: close };
}
