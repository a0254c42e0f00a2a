import { connect, createServer, type Socket } from 'node:net';

/** Two ends of one loopback TCP connection: `c` dialled, `s` accepted (the listener is closed again). */
export async function loopbackPair(): Promise<{ c: Socket; s: Socket }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const c = connect((server.address() as { port: number }).port, '127.0.0.1');
  const s = await accepted;
  server.close();
  return { c, s };
}
