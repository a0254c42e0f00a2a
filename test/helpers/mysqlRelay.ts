import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  buildHandshakeResponse,
  buildInitialHandshake,
  buildSslRequest,
  CLIENT,
  COM,
  type Command,
  clientOffer,
  framePacket,
  type HandshakeResponse,
  type InitialHandshake,
  PacketReader,
  PreparedStatements,
  parseCommand,
  parseHandshakeResponse,
  parseInitialHandshake,
} from '../../plugins/db-mysql/wire.ts';
import type { CertFiles } from './dbPki.ts';
import type { MariadbServer } from './mariadbServer.ts';

/** What one relayed connection showed: the greeting, the client's response, its commands, and its raw bytes. */
export interface MysqlSession {
  greeting?: InitialHandshake;
  greetingPayload?: Buffer;
  offered?: InitialHandshake;
  response?: HandshakeResponse;
  commands: Command[];
  clientBytes: Buffer[];
  done: Promise<void>;
}

/** A loopback relay from plain-text MySQL clients to the TLS-only fixture; stops with close(). */
export interface MysqlRelay extends AsyncDisposable {
  port: number;
  sessions: MysqlSession[];
  close(): Promise<void>;
}

/**
 * Starts the relay the db-mysql agent will be: greets the client with the server's capabilities minus SSL, takes its
 * handshake response in plain text, sends the server an SSLRequest, upgrades to TLS with `cert`, replays the
 * response, and shifts sequence ids by one until authentication ends. Then it parses every command (keeping the
 * prepared-statement registry from the server's PREPARE_OK answers) and forwards packets unchanged. Built on the
 * codec under test, so a stock client that logs in and queries through it proves the codec end to end.
 */
export async function startMysqlRelay(m: MariadbServer, cert: CertFiles): Promise<MysqlRelay> {
  const sessions: MysqlSession[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const session: MysqlSession = { commands: [], clientBytes: [], done };
    sessions.push(session);
    const statements = new PreparedStatements();
    const expecting: number[] = []; // the command each outstanding response answers
    const fromClient = new PacketReader();
    const fromServer = new PacketReader();
    let tls: TLSSocket | undefined;
    let authDone = false;
    const up = tcpConnect(m.port, '127.0.0.1');
    sockets.add(up);
    up.on('data', (b: Buffer) => {
      const [greeting] = fromServer.push(b);
      if (!greeting || session.greeting) return;
      session.greetingPayload = greeting.payload;
      session.greeting = parseInitialHandshake(greeting.payload);
      session.offered = clientOffer(session.greeting);
      client.write(framePacket(buildInitialHandshake(session.offered), 0));
    });
    const onServer = (b: Buffer) => {
      for (const p of fromServer.push(b)) {
        if (!authDone) {
          // The server counts our SSLRequest; the client never saw it.
          client.write(framePacket(p.payload, p.seq - 1));
          if (p.payload[0] === 0x00 || p.payload[0] === 0xff) authDone = true;
          continue;
        }
        if (p.seq === 1 && expecting.shift() === COM.STMT_PREPARE) statements.answered(p.payload);
        client.write(p.raw);
      }
    };
    client.on('data', (b: Buffer) => {
      session.clientBytes.push(b);
      for (const p of fromClient.push(b)) {
        if (!session.response) {
          const response = parseHandshakeResponse(p.payload);
          session.response = response;
          up.removeAllListeners('data');
          up.write(framePacket(buildSslRequest(response), p.seq));
          tls = tlsConnect({ socket: up, ca: m.caPem, cert: cert.cert, key: cert.key, servername: 'localhost' });
          tls.on('data', onServer);
          tls.on('close', () => client.destroy());
          tls.on('error', () => client.destroy());
          const secure = { ...response, capabilities: (response.capabilities | CLIENT.SSL) >>> 0 };
          tls.write(framePacket(buildHandshakeResponse(secure), p.seq + 1));
        } else if (!authDone) {
          tls?.write(framePacket(p.payload, p.seq + 1));
        } else {
          const command = parseCommand(p.payload, statements);
          session.commands.push(command);
          const first = p.payload[0]!;
          if (first !== COM.STMT_CLOSE && first !== COM.QUIT && first !== COM.STMT_SEND_LONG_DATA)
            expecting.push(first);
          tls?.write(p.raw);
        }
      }
    });
    client.on('error', () => up.destroy());
    client.on('close', () => {
      tls?.end();
      up.destroy();
      resolve();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { port, sessions, close, [Symbol.asyncDispose]: close };
}
