import { connect, createServer, type Server } from 'node:net';
import type { Client } from 'ssh2';
import { BadParameter } from '../errors.ts';
import { splice } from '../net/index.ts';

/** A parsed -L/-R spec: [bind_address:]port:host:hostport. */
export interface ForwardSpec {
  bindAddr: string;
  bindPort: number;
  host: string;
  hostPort: number;
}

/** Parses `[bind:]port:host:hostport` as OpenSSH's -L and -R take it. */
export function parseForward(spec: string, flag: string): ForwardSpec {
  const parts = spec.split(':');
  if (parts.length !== 3 && parts.length !== 4)
    throw new BadParameter(`${flag} ${spec}: expected [bind_address:]port:host:hostport`);
  const [bindAddr, bindPort, host, hostPort] = parts.length === 4 ? parts : ['127.0.0.1', ...parts];
  const n = (s: string | undefined) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new BadParameter(`${flag} ${spec}: "${s}" is not a port`);
    return v;
  };
  return { bindAddr: bindAddr || '127.0.0.1', bindPort: n(bindPort), host: host!, hostPort: n(hostPort) };
}

/** -L: listens here; each connection is carried to host:hostport as seen from the node. */
export async function localForward(client: Client, f: ForwardSpec): Promise<Server> {
  const server = createServer((sock) => {
    client.forwardOut(sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0, f.host, f.hostPort, (err, ch) => {
      if (err) {
        process.stderr.write(`tp: -L ${f.bindPort}: channel open failed: ${err.message}\n`);
        return sock.destroy();
      }
      splice(ch, sock);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(f.bindPort, f.bindAddr, () => resolve());
  });
  return server;
}

/** -R: asks the node to listen on bindPort; each connection comes back here and goes to host:hostport. */
export async function remoteForward(client: Client, f: ForwardSpec): Promise<number> {
  const port = await new Promise<number>((resolve, reject) =>
    client.forwardIn(f.bindAddr, f.bindPort, (err, p) =>
      err ? reject(new BadParameter(`-R ${f.bindPort}: ${err.message}`)) : resolve(p || f.bindPort),
    ),
  );
  client.on('tcp connection', (info, accept, reject) => {
    if (info.destPort !== port) return reject();
    const sock = connect({ host: f.host, port: f.hostPort });
    sock.once('connect', () => splice(accept(), sock));
    sock.once('error', () => reject());
  });
  return port;
}

/** -D: a SOCKS5 proxy here (no auth, CONNECT only) whose connections leave from the node. */
export async function dynamicForward(client: Client, bindAddr: string, bindPort: number): Promise<Server> {
  const server = createServer((sock) => {
    sock.once('data', (hello: Buffer) => {
      if (hello[0] !== 5) return sock.destroy();
      sock.write(Buffer.from([5, 0]));
      sock.once('data', (req: Buffer) => {
        if (req[0] !== 5 || req[1] !== 1) return sock.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
        let host: string;
        let off: number;
        if (req[3] === 1) [host, off] = [`${req[4]}.${req[5]}.${req[6]}.${req[7]}`, 8];
        else if (req[3] === 3) [host, off] = [req.subarray(5, 5 + req[4]!).toString(), 5 + req[4]!];
        else if (req[3] === 4) [host, off] = [(req.subarray(4, 20).toString('hex').match(/.{4}/g) ?? []).join(':'), 20];
        else return sock.end(Buffer.from([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]));
        const port = req.readUInt16BE(off);
        client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => {
          if (err) return sock.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
          sock.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          splice(ch, sock);
        });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bindPort, bindAddr, () => resolve());
  });
  return server;
}
