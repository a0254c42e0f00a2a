// A stand-in RDP server for tests that must see what the agent sends it: it records the X.224 Connection Request,
// answers a Connection Confirm (selecting TLS, or a negotiation failure), upgrades to TLS with its own self-signed
// certificate and records every plaintext byte that arrives after. It never answers RDP itself.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { writeSelfSigned } from './desktopServerTools.ts';

/** The stand-in: its address, what each connection sent, and close. */
export interface RdpStandIn extends AsyncDisposable {
  addr: string;
  /** How many TCP connections it accepted. */
  accepted(): number;
  /** The X.224 Connection Requests received, in order. */
  requests: Buffer[];
  /** The plaintext bytes received after TLS, all connections concatenated. */
  received(): Buffer;
  /** Sends `bytes` in plaintext (inside TLS) to the latest connection, once its TLS is up. */
  send(bytes: Buffer): void;
  close(): Promise<void>;
}

/** RDP_NEG_RSP selecting `selected`, or RDP_NEG_FAILURE with `failure`, inside a Connection Confirm. */
function confirm(o: { selected?: number; failure?: number }): Buffer {
  const neg = Buffer.alloc(8);
  neg[0] = o.failure === undefined ? 2 : 3;
  neg.writeUInt16LE(8, 2);
  neg.writeUInt32LE(o.failure ?? o.selected ?? 1, 4);
  const out = Buffer.concat([Buffer.from([3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0]), neg]);
  return out;
}

/** Starts the stand-in on a loopback port; `o` picks its Confirm (default: TLS selected). */
export async function startRdpStandIn(o: { selected?: number; failure?: number } = {}): Promise<RdpStandIn> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-rdp-standin-'));
  writeSelfSigned('rdp-stand-in', join(dir, 'key.pem'), join(dir, 'cert.pem'));
  const key = readFileSync(join(dir, 'key.pem'));
  const cert = readFileSync(join(dir, 'cert.pem'));
  const requests: Buffer[] = [];
  const plain: Buffer[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  let latest: TLSSocket | undefined;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let got = Buffer.alloc(0);
    const onData = (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length < 4 || got.length < got.readUInt16BE(2)) return;
      s.off('data', onData);
      requests.push(got);
      s.write(confirm(o));
      if (o.failure !== undefined) return void s.end();
      const tls = new TLSSocket(s, { isServer: true, key, cert });
      latest = tls;
      tls.on('data', (d: Buffer) => plain.push(d));
      tls.on('error', () => s.destroy());
    };
    s.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    addr: `127.0.0.1:${(server.address() as { port: number }).port}`,
    accepted: () => accepted,
    requests,
    received: () => Buffer.concat(plain),
    send: (bytes) => {
      if (!latest) throw new Error('no TLS connection to send on');
      latest.write(bytes);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
