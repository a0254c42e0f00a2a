import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay that can impair what passes, for kernels without tc netem: every chunk is delayed `delayMs`, and with
 * probability `lossPct` a chunk waits an extra retransmission timeout (1 s), as a lost segment does to a TCP stream.
 * Order is kept; a direction holding more than 1 MiB stops reading until it drains.
 */
export interface ImpairedRelay {
  addr: string;
  impair(o: { lossPct: number; delayMs: number }): void;
  clear(): void;
  close(): Promise<void>;
}

const RTO_MS = 1_000;
const HIGH_WATER = 1 << 20;

/** Listens on `host:0` and relays every connection to `target` (host:port). */
export async function startImpairedRelay(host: string, target: string, random = Math.random): Promise<ImpairedRelay> {
  let impairment = { lossPct: 0, delayMs: 0 };
  const open = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    // One queue and one timer per direction: timers of different lengths set a millisecond apart can fire out of
    // order, and a TCP stream never reorders (a TLS record MAC failed on it).
    const queue: { chunk: Buffer; at: number }[] = [];
    let queued = 0;
    let scheduled = false;
    let ended: 'end' | 'close' | undefined;
    const drain = () => {
      scheduled = false;
      while (queue.length && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        queued -= chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (queued <= HIGH_WATER) from.resume();
      if (queue.length) schedule(queue[0]!.at);
      else if (ended === 'end') to.end();
      else if (ended === 'close') to.destroy();
    };
    const schedule = (at: number) => {
      scheduled = true;
      setTimeout(drain, at - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      const { lossPct, delayMs } = impairment;
      if (!lossPct && !delayMs && !queue.length) {
        to.write(chunk);
        return;
      }
      const lost = random() * 100 < lossPct;
      // A lost segment holds back everything after it until it is retransmitted, as in TCP.
      const at = Math.max(Date.now() + delayMs + (lost ? RTO_MS : 0), queue.at(-1)?.at ?? 0);
      queue.push({ chunk, at });
      queued += chunk.length;
      if (queued > HIGH_WATER) from.pause();
      if (!scheduled) schedule(at);
    });
    const finish = (how: 'end' | 'close') => {
      ended ??= how;
      if (!queue.length) how === 'end' ? to.end() : to.destroy();
    };
    from.on('end', () => finish('end'));
    from.on('close', () => finish('close'));
    from.on('error', () => to.destroy());
  };
  const [th, tp] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server: Server = createServer((client) => {
    const up = connect({ host: th, port: tp });
    for (const s of [client, up]) {
      open.add(s);
      s.on('close', () => open.delete(s));
    }
    pipe(client, up);
    pipe(up, client);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    addr: `${host}:${port}`,
    impair: (o) => {
      impairment = o;
    },
    clear: () => {
      impairment = { lossPct: 0, delayMs: 0 };
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
