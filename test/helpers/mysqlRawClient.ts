import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  buildHandshakeResponse,
  CLIENT,
  framePacket,
  type Packet,
  PacketReader,
  parseErr,
  parseInitialHandshake,
} from '../../plugins/db-mysql/wire.ts';

/** A hand-driven MySQL client over plain TCP, for sending what stock clients never send (attacks, odd commands). */
export interface RawMysqlClient {
  /** The next packet from the server; rejects after `ms` or when the connection closed first. */
  read(ms?: number): Promise<Packet>;
  /** Sends raw bytes (framed or not). */
  send(bytes: Uint8Array): void;
  /** Sends a command payload as one packet with sequence id 0. */
  command(payload: Uint8Array): void;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  socket: Duplex;
  close(): void;
}

/** Options: a default database, capability flags to claim beyond the ones the server offered. */
export interface RawLoginOptions {
  database?: string;
  extraCapabilities?: number;
}

/** Connects and reads the greeting; resolves with the client and the greeting's payload, before any answer. */
export async function rawMysqlConnect(port: number): Promise<{ client: RawMysqlClient; greeting: Buffer }> {
  const client = rawMysqlOn(connect({ host: '127.0.0.1', port }));
  return { client, greeting: (await client.read()).payload };
}

/** A raw client on a stream already open (a TLS connection past the proxy's answer, say); reading starts now. */
export function rawMysqlOn(socket: Duplex): RawMysqlClient {
  const reader = new PacketReader();
  const ready: Packet[] = [];
  const waiters: (() => void)[] = [];
  let gone = false;
  const { promise: closed, resolve: onClosed } = Promise.withResolvers<void>();
  socket.on('data', (b: Buffer) => {
    ready.push(...reader.push(b));
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    gone = true;
    onClosed();
    for (const w of waiters.splice(0)) w();
  });
  // A reset after the agent refuses is an expected end: 'close' follows and settles the readers.
  socket.on('error', () => socket.destroy());
  const read = async (ms = 10_000): Promise<Packet> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = ready.shift();
      if (p) return p;
      if (gone) throw new Error('the connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no packet in time');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  const client: RawMysqlClient = {
    read,
    send: (b) => socket.write(b),
    command: (payload) => socket.write(framePacket(payload, 0)),
    closed,
    socket,
    close: () => socket.destroy(),
  };
  socket.resume();
  return client;
}

/** Connects, reads the greeting and logs in as `user` (no password) in plain text; resolves once logged in. */
export async function rawMysqlLogin(port: number, user: string, o: RawLoginOptions = {}): Promise<RawMysqlClient> {
  const { client, greeting } = await rawMysqlConnect(port);
  return loginWith(client, greeting, user, o);
}

/** Reads the greeting on `client` and logs in as `user` (no password); resolves once logged in. */
export async function rawMysqlLoginOn(
  client: RawMysqlClient,
  user: string,
  o: RawLoginOptions = {},
): Promise<RawMysqlClient> {
  return loginWith(client, (await client.read()).payload, user, o);
}

async function loginWith(
  client: RawMysqlClient,
  hello: Buffer,
  user: string,
  o: RawLoginOptions,
): Promise<RawMysqlClient> {
  const greeting = parseInitialHandshake(hello);
  const database = o.database;
  const caps =
    CLIENT.PROTOCOL_41 |
    CLIENT.SECURE_CONNECTION |
    CLIENT.PLUGIN_AUTH |
    CLIENT.LONG_FLAG |
    CLIENT.TRANSACTIONS |
    CLIENT.MULTI_RESULTS |
    (database ? CLIENT.CONNECT_WITH_DB : 0);
  const response = buildHandshakeResponse({
    capabilities: ((caps & greeting.capabilities) | (o.extraCapabilities ?? 0)) >>> 0,
    maxPacketSize: 1 << 24,
    charset: 45,
    mariadbCapabilities: 0,
    username: user,
    authResponse: Buffer.alloc(0),
    ...(database ? { database } : {}),
    authPluginName: 'mysql_native_password',
  });
  client.send(framePacket(response, 1));
  const answer = await client.read();
  const err = parseErr(answer.payload);
  if (err) throw new Error(`login refused: ${err.code} ${err.message}`);
  if (answer.payload[0] !== 0x00) throw new Error(`unexpected login answer 0x${answer.payload[0]?.toString(16)}`);
  return client;
}
