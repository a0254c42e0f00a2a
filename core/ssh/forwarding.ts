import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { splice } from '../net/index.ts';
import type { OsUser } from './osUser.ts';

type Ssh2Conn = Connection & { openssh_authAgent(cb: (err: Error | undefined, ch: Duplex) => void): void };

/** -L: a direct-tcpip channel to a host:port the node can reach. */
export function serveLocalForward(conn: Connection, onOpen: (dest: string) => void): void {
  conn.on('tcpip', (accept, reject, info) => {
    const sock = connect({ host: info.destIP, port: info.destPort });
    sock.once('connect', () => {
      onOpen(`${info.destIP}:${info.destPort}`);
      splice(accept(), sock);
    });
    sock.once('error', (err) => {
      log.debug('port forward failed', { dest: `${info.destIP}:${info.destPort}`, error: describe(err) });
      reject();
    });
  });
}

/** -R: listens on the node and forwards each connection back to the client. */
export function serveRemoteForward(conn: Connection, allowed: boolean, onOpen: (bind: string) => void): () => void {
  const listeners = new Map<string, Server>();
  conn.on('request', (accept, reject, name, info) => {
    const i = info as { bindAddr: string; bindPort: number };
    const key = `${i.bindAddr}:${i.bindPort}`;
    if (name === 'cancel-tcpip-forward') {
      listeners.get(key)?.close();
      listeners.delete(key);
      return accept?.();
    }
    if (name !== 'tcpip-forward' || !allowed) return reject?.();
    const server = createServer((sock) => {
      conn.forwardOut(i.bindAddr, port, sock.remoteAddress ?? '', sock.remotePort ?? 0, (err, ch) => {
        if (err) return sock.destroy();
        splice(ch, sock);
      });
    });
    let port = i.bindPort;
    server.once('error', () => reject?.());
    server.listen(i.bindPort, i.bindAddr === '' || i.bindAddr === 'localhost' ? '127.0.0.1' : i.bindAddr, () => {
      port = (server.address() as { port: number }).port;
      listeners.set(`${i.bindAddr}:${port}`, server);
      onOpen(`${i.bindAddr}:${port}`);
      accept?.(port);
    });
  });
  return () => {
    for (const s of listeners.values()) s.close();
    listeners.clear();
  };
}

/**
 * -A: a private socket on the node (owned by the login user) whose connections become auth-agent channels back
 * to the client's agent. Returns the socket path and a cleanup function.
 */
export function startAgentForward(conn: Connection, user: OsUser): { path: string; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tp-agent-'));
  const path = join(dir, 'agent.sock');
  const server = createServer((sock) => {
    (conn as Ssh2Conn).openssh_authAgent((err, ch) => {
      if (err) return sock.destroy();
      splice(ch, sock);
    });
  });
  server.listen(path, () => {
    if (process.getuid?.() === 0) {
      chownSync(dir, user.uid, user.gid);
      chownSync(path, user.uid, user.gid);
    }
  });
  return {
    path,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
