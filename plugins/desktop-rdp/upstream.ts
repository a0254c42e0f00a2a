// The agent's side of the RDP server's connection: TCP to the configured address (never the client's
// `destination`), the X.224 Connection Request and Confirm in plaintext, then TLS. The server's certificate is
// checked only against the desktop's `cert_sha256` pin when one is configured.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { BadParameter, describe, Unavailable } from '../../core/errors.ts';
import { parseHostPort } from '../../core/net/index.ts';
import type { CleanPathError } from './rdcleanpath.ts';
import { failureText, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_SSL, parseConfirm, tpktLength } from './x224.ts';

/** How long the RDP server has to accept, confirm and finish TLS. */
const HANDSHAKE_MS = 10_000;
/** A Connection Confirm is 19 bytes; anything near this is not one. */
const MAX_CONFIRM = 1024;

/** The RDP server could not be reached or refused: `answer` is the RDCleanPath error the browser gets. */
export class UpstreamFailed extends Unavailable {
  constructor(
    message: string,
    readonly answer: CleanPathError,
  ) {
    super(message);
  }
}

/** A server connection past TLS: the TLS socket, the server's Confirm, its certificates (leaf first), its IP:port. */
export interface Upstream {
  tls: TLSSocket;
  confirm: Buffer;
  certChain: Buffer[];
  serverAddr: string;
}

/** Where and how the agent reaches one desktop's RDP server. */
export interface UpstreamTarget {
  desktop: string;
  addr: string;
  /** The server certificate's SHA-256 (lowercase hex, no colons), or undefined to take any. */
  certSha256: string | undefined;
}

/** Windows socket error numbers IronRDP describes (WSAECONNREFUSED ...), for the OS errors connect gives. */
const WSA: Record<string, number> = {
  ECONNREFUSED: 10061,
  ETIMEDOUT: 10060,
  ECONNRESET: 10054,
  EHOSTUNREACH: 10065,
  ENETUNREACH: 10051,
  ENOTFOUND: 11001,
  EAI_AGAIN: 11002,
};

function opened(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
}

/** Reads exactly one TPKT (the Confirm) from `socket` in plaintext; more bytes before TLS is a protocol error. */
function readConfirm(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (err: Error | undefined, pdu?: Buffer) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', done);
      socket.pause();
      if (err) reject(err);
      else resolve(pdu!);
    };
    const onEnd = () => done(new Error('the server closed the connection before its X.224 Connection Confirm'));
    const onData = (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length < 4) return;
      const len = tpktLength(got, 11);
      if (len > MAX_CONFIRM) return done(new BadParameter(`a ${len}-byte X.224 Connection Confirm`));
      if (got.length > len) return done(new BadParameter('the server sent data before TLS'));
      if (got.length === len) done(undefined, got);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', done);
  });
}

function startTls(socket: Socket): Promise<TLSSocket> {
  const tls = tlsConnect({ socket, rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
}

/** The peer's certificates as DER, leaf first (a self-signed one once). */
function chainOf(tls: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c = tls.getPeerCertificate(true);
  for (let i = 0; i < 10 && c?.raw; i++) {
    out.push(Buffer.from(c.raw));
    if (!c.issuerCertificate || c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  return out;
}

function hostPort(socket: Socket): string {
  const ip = socket.remoteAddress ?? '';
  return `${ip.includes(':') ? `[${ip}]` : ip}:${socket.remotePort}`;
}

async function handshake(t: UpstreamTarget, socket: Socket, request: Buffer): Promise<Upstream> {
  const where = `desktop "${t.desktop}": the RDP server at ${t.addr}`;
  try {
    await opened(socket);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    throw new UpstreamFailed(`${where} cannot be reached: ${describe(err)}`, {
      code: 1,
      ...(WSA[code] ? { wsaError: WSA[code] } : { httpStatus: 502 }),
    });
  }
  socket.write(request);
  const confirm = await readConfirm(socket);
  const c = parseConfirm(confirm);
  if ('failure' in c)
    throw new UpstreamFailed(`${where} refused the connection: ${failureText(c.failure)}`, { code: 2, x224: confirm });
  if (![PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX].includes(c.selected))
    throw new UpstreamFailed(
      `${where} selected protocol ${c.selected} (standard RDP security); tp needs TLS: set its security layer to TLS or negotiate`,
      { code: 1, httpStatus: 502 },
    );
  const serverAddr = hostPort(socket);
  let tls: TLSSocket;
  try {
    tls = await startTls(socket);
  } catch (err) {
    throw new UpstreamFailed(`${where}: TLS failed: ${describe(err)}`, { code: 1, tlsAlert: 40 });
  }
  const certChain = chainOf(tls);
  const got = certChain[0] ? createHash('sha256').update(certChain[0]).digest('hex') : '';
  if (t.certSha256 && got !== t.certSha256) {
    tls.destroy();
    throw new UpstreamFailed(`${where} presented a certificate (sha256 ${got}) other than the pinned cert_sha256`, {
      code: 1,
      tlsAlert: 42,
    });
  }
  return { tls, confirm, certChain, serverAddr };
}

/**
 * Connects to the desktop's RDP server, sends the client's X.224 Connection Request `request`, reads the Confirm and
 * completes TLS; throws UpstreamFailed (with the RDCleanPath error to answer) when the server cannot be reached,
 * refuses, does not speak TLS, fails the pin, or takes over 10 s, and BadParameter for a malformed Confirm.
 */
export async function openUpstream(t: UpstreamTarget, request: Buffer, signal: AbortSignal): Promise<Upstream> {
  const [host, port] = parseHostPort(t.addr);
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  const stop = () => socket.destroy(new Error(signal.aborted ? 'the session ended' : 'no answer within 10 s'));
  const timer = setTimeout(stop, HANDSHAKE_MS);
  signal.addEventListener('abort', stop);
  try {
    return await handshake(t, socket, request);
  } catch (err) {
    socket.destroy();
    if (err instanceof UpstreamFailed || err instanceof BadParameter) throw err;
    throw new UpstreamFailed(`desktop "${t.desktop}": the RDP server at ${t.addr}: ${describe(err)}`, {
      code: 1,
      httpStatus: 504,
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}
