import { connect, type Socket } from 'node:net';
import { type BackendMessage, BackendParser } from '../../plugins/db-postgres/wire.ts';

/** A raw PostgreSQL client for attack tests: writes whatever bytes it is given and parses what comes back. */
export interface PgWireClient {
  socket: Socket;
  /** Every server message so far. */
  messages: BackendMessage[];
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
  send(bytes: Uint8Array): void;
  /** Waits (bounded) for a message of `type`; returns it. */
  next(type: BackendMessage['type'], ms?: number): Promise<BackendMessage>;
}

/** Connects to 127.0.0.1:`port`. The connection stays half-open after `socket.end()` so refusals can be read. */
export async function pgWireClient(port: number): Promise<PgWireClient> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const parser = new BackendParser();
  const messages: BackendMessage[] = [];
  socket.on('data', (b: Buffer) => messages.push(...parser.push(b)));
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket,
    messages,
    closed,
    send: (bytes) => socket.write(bytes),
    next: async (type, ms = 10_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = messages.find((x) => x.type === type);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no ${type} within ${ms} ms; got ${messages.map((x) => x.type)}`);
        await Bun.sleep(10);
      }
    },
  };
}
