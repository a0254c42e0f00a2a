// The agent's side of the VNC server's handshake: version, security (VncAuth with the agent's password, or None),
// ClientInit (shared) and ServerInit. The password never leaves the agent.
import { createCipheriv } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ByteReader } from '../../core/desktop/byteReader.ts';
import { AccessDenied, BadParameter, Unavailable } from '../../core/errors.ts';
import { parseHostPort } from '../../core/net/index.ts';
import { MAX_NAME, RFB_VERSION, SECURITY_NONE, SECURITY_VNC_AUTH, type ServerInit } from './rfb.ts';

/** How long the VNC server has to accept the connection and finish its handshake. */
const HANDSHAKE_MS = 10_000;

/** A VNC server connection past ServerInit: the socket, a reader over it, and the ServerInit it sent. */
export interface Upstream {
  socket: Socket;
  reader: ByteReader;
  init: ServerInit;
}

/** Where and how the agent reaches one desktop's VNC server. */
export interface UpstreamTarget {
  desktop: string;
  addr: string;
  /** The VNC password (at most 8 bytes count), or undefined for a server that asks for none. */
  password: Buffer | undefined;
}

function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** VncAuth's answer: the 16-byte challenge DES-ECB encrypted with the password (8 bytes, NUL padded, bits reversed). */
export function vncAuthResponse(password: Buffer, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  password.copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) key[i] = reverseBits(key[i]!);
  const des = createCipheriv('des-ecb', key, null);
  des.setAutoPadding(false);
  return Buffer.concat([des.update(challenge), des.final()]);
}

async function readReason(r: ByteReader): Promise<string> {
  const len = (await r.read(4)).readUInt32BE();
  return (await r.read(Math.min(len, MAX_NAME))).toString('utf8');
}

async function handshake(t: UpstreamTarget, socket: Socket, r: ByteReader): Promise<ServerInit> {
  const version = (await r.read(12)).toString('latin1');
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(version);
  if (!m || Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 8))
    throw new Unavailable(`desktop "${t.desktop}": the VNC server speaks ${JSON.stringify(version)}, not RFB 3.8`);
  socket.write(RFB_VERSION);
  const count = (await r.read(1))[0]!;
  if (count === 0) throw new Unavailable(`desktop "${t.desktop}": the VNC server refused: ${await readReason(r)}`);
  const types = [...(await r.read(count))];
  const useAuth = t.password !== undefined && types.includes(SECURITY_VNC_AUTH);
  if (!useAuth && !types.includes(SECURITY_NONE)) {
    const why = types.includes(SECURITY_VNC_AUTH) ? 'asks for a VNC password and the agent has no password_file' : '';
    throw new Unavailable(
      `desktop "${t.desktop}": the VNC server ${why || `offers only security types [${types.join(', ')}]; tp speaks VncAuth (2) and None (1)`}`,
    );
  }
  socket.write(Buffer.from([useAuth ? SECURITY_VNC_AUTH : SECURITY_NONE]));
  if (useAuth) socket.write(vncAuthResponse(t.password!, await r.read(16)));
  const result = (await r.read(4)).readUInt32BE();
  if (result !== 0) {
    const why = await readReason(r);
    throw new AccessDenied(
      `desktop "${t.desktop}": the VNC server refused the agent's ${useAuth ? 'password (check password_file on the agent)' : 'connection'}: ${why}`,
    );
  }
  socket.write(Buffer.from([1])); // ClientInit: shared, so other viewers stay connected
  const head = await r.read(24);
  const nameLen = head.readUInt32BE(20);
  if (nameLen > MAX_NAME) throw new BadParameter(`desktop "${t.desktop}": a ${nameLen}-byte desktop name`);
  return {
    width: head.readUInt16BE(0),
    height: head.readUInt16BE(2),
    pixelFormat: Buffer.from(head.subarray(4, 20)),
    name: (await r.read(nameLen)).toString('utf8'),
  };
}

/**
 * Connects to the desktop's VNC server and completes its RFB 3.8 handshake; throws Unavailable when it cannot be
 * reached, speaks no type tp can answer, or takes over 10 s, and AccessDenied when it refuses the agent's password.
 */
export async function openUpstream(t: UpstreamTarget, signal: AbortSignal): Promise<Upstream> {
  const [host, port] = parseHostPort(t.addr);
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  const reader = new ByteReader(socket, `the VNC server of desktop "${t.desktop}"`, signal);
  const timer = setTimeout(
    () => socket.destroy(new Error(`no complete handshake within ${HANDSHAKE_MS / 1000} s`)),
    HANDSHAKE_MS,
  );
  try {
    return { socket, reader, init: await handshake(t, socket, reader) };
  } catch (err) {
    socket.destroy();
    if (err instanceof Unavailable || err instanceof AccessDenied || err instanceof BadParameter) throw err;
    throw new Unavailable(`desktop "${t.desktop}": cannot reach its VNC server at ${t.addr}: ${String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}
