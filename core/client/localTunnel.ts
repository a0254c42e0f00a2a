// A loopback listener whose every connection is carried to one resource through the proxy (`tp proxy db --tunnel`):
// stock clients (psql, mariadb, GUI tools) connect to it in plain text; the TLS and the user's certificate are ours.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BadParameter, describe, TpError, Unavailable } from '../errors.ts';

/** How the tunnel opens one connection to the resource, and what it tells a local client that could not get one. */
export interface LocalTunnelOptions {
  /** Opens one stream to the resource (through the proxy), ready for the protocol's bytes. */
  dial: () => Promise<Duplex>;
  /** Loopback port to listen on; 0 or absent picks a free one. */
  port?: number;
  /** The address to listen on (loopback only: the tunnel speaks for the user). Default 127.0.0.1. */
  host?: string;
  /** At most this many local connections at once; more are refused. Default 32. */
  maxConnections?: number;
  /** Bytes that tell the local client why its connection was refused (a protocol error message), if any. */
  refusal?: (message: string) => Uint8Array;
  /** Told of each connection that could not be carried (shown to the person running the tunnel). */
  onError?: (err: TpError, from: string) => void;
  /**
   * How a local connection and its stream are joined until either ends (`tp proxy app` rewrites HTTP heads on the
   * way); default: bytes both ways as they are.
   */
  join?: (local: Socket, remote: Duplex) => Promise<void>;
}

/** A running tunnel: where it listens, how many connections it carries, and how to stop it. */
export interface LocalTunnel {
  host: string;
  port: number;
  /** Local connections being carried now. */
  active(): number;
  /** Stops listening and ends every carried connection. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** Listens on loopback and carries each connection through `dial`; resolves once listening (BadParameter if busy). */
export async function startLocalTunnel(o: LocalTunnelOptions): Promise<LocalTunnel> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new BadParameter(`the tunnel listens on loopback only, not ${host}`);
  const max = o.maxConnections ?? 32;
  const open = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (local) => {
    const from = `${local.remoteAddress}:${local.remotePort}`;
    if (open.size >= max) {
      refuse(local, new Unavailable(`too many connections through this tunnel (at most ${max})`), from, o);
      return;
    }
    open.add(local);
    local.once('close', () => open.delete(local));
    void carry(local, from, o);
  });
  await listen(server, host, o.port ?? 0);
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host,
    port,
    active: () => open.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use' : `cannot be used (${err.message})`;
      reject(new BadParameter(`port ${port} on ${host} ${why}: pick another with --port`, { port }, { cause: err }));
    });
    server.listen(port, host, () => resolve());
  });
}

/** Dials the resource for one local connection and joins the two until either ends. */
async function carry(local: Socket, from: string, o: LocalTunnelOptions): Promise<void> {
  local.once('error', () => local.destroy());
  let remote: Duplex;
  try {
    remote = await o.dial();
  } catch (err) {
    const e = err instanceof TpError ? err : new Unavailable(describe(err), {}, { cause: err });
    refuse(local, e, from, o);
    return;
  }
  if (local.destroyed) {
    remote.destroy();
    return;
  }
  const end = () => {
    local.destroy();
    remote.destroy();
  };
  remote.on('error', end);
  if (o.join) {
    // The join reads both sides to their ends itself; the local side is ended (flushed), not cut, once it is done.
    o.join(local, remote).then(
      () => {
        local.end();
        remote.destroy();
      },
      (err: unknown) => {
        o.onError?.(err instanceof TpError ? err : new Unavailable(describe(err), {}, { cause: err }), from);
        end();
      },
    );
    return;
  }
  remote.on('close', end);
  local.on('close', end);
  local.pipe(remote);
  remote.pipe(local);
  local.resume();
}

function refuse(local: Socket, err: TpError, from: string, o: LocalTunnelOptions): void {
  o.onError?.(err, from);
  if (!o.refusal || local.destroyed) {
    local.destroy();
    return;
  }
  // Read (and drop: flowing, no listener) what the client sent, so closing does not reset the connection before it reads the refusal.
  local.on('error', () => local.destroy());
  local.resume();
  local.end(o.refusal(describe(err)));
  setTimeout(() => local.destroy(), REFUSAL_LINGER_MS).unref();
}

/** How long a refused client gets to read the refusal before its connection is dropped. */
const REFUSAL_LINGER_MS = 5000;
