import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { describe, errorFromWire, Unavailable } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import type { DialTarget } from '../plugin/types.ts';
import { type AgentAck, AgentAckSchema, type AgentStreamHeader, readHeader, writeHeader } from '../tunnel/header.ts';
import type { TunnelRegistry } from './tunnels.ts';

export type { DialTarget } from '../plugin/types.ts';

/** The proxy's TLS client credentials for dialling direct-mode agents. */
export interface DialTls {
  cert: string;
  key: string;
  ca: string[];
}

/** Resolves once a socket is connected, or rejects with Unavailable naming the target. */
function connected<T extends Duplex>(sock: T, event: 'connect' | 'secureConnect', what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Unavailable(`timed out connecting to ${what}`));
    }, 10_000);
    sock.once(event, () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err: Error) => {
      clearTimeout(timer);
      reject(new Unavailable(`cannot reach ${what}: ${err.message}`));
    });
  });
}

/**
 * Opens a byte stream to the plugin `header.service` on an agent: through its reverse tunnel when it holds one here,
 * else over mutual TLS to its direct address, with the stream header written first; an agentless node is plain TCP.
 * The protocol inside is the plugin's business.
 */
export async function dialAgent(
  node: DialTarget,
  tunnels: TunnelRegistry,
  tls: DialTls,
  header: Omit<AgentStreamHeader, 'v'>,
): Promise<Duplex> {
  const what = `${node.kind ?? 'node'} "${node.name}" (${node.hostId})`;
  if (node.agentless) {
    if (!node.addr) throw new Unavailable(`${what} has no address`);
    const [host, port] = parseHostPort(node.addr);
    return connected(tcpConnect({ host, port }), 'connect', what);
  }
  const viaTunnel = tunnels.open(node.hostId);
  if (viaTunnel) {
    writeHeader(viaTunnel, { v: 1, ...header });
    return viaTunnel;
  }
  if (!node.addr)
    throw new Unavailable(`${what} is offline: it holds no tunnel to this proxy and has no direct address`);
  const [host, port] = parseHostPort(node.addr);
  const sock = tlsConnect({
    host,
    port,
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    ALPNProtocols: ['tp-node'],
    // The agent's certificate names its host ID, not the address we dial.
    checkServerIdentity: (_name, cert) =>
      cert.subject?.CN === node.hostId
        ? undefined
        : new Unavailable(`${what} presented the certificate of ${cert.subject?.CN}`),
  });
  const s = await connected(sock, 'secureConnect', what);
  writeHeader(s, { v: 1, ...header });
  return s;
}

/** How long an agent has to accept or refuse a stream it was handed. */
const ACK_TIMEOUT_MS = 10_000;

/**
 * Waits for the agent's answer on a fresh plugin stream (`{ok:true}` then protocol bytes, left unread); a refusal
 * rejects with the agent's typed error, a broken or silent stream with Unavailable. The stream is destroyed on
 * rejection.
 */
export async function readAgentAck(stream: Duplex, what: string): Promise<void> {
  let ack: AgentAck;
  try {
    ack = await readHeader(stream, AgentAckSchema, 64 * 1024, ACK_TIMEOUT_MS);
  } catch (err) {
    stream.destroy();
    throw new Unavailable(`${what} did not answer the stream: ${describe(err)}`, {}, { cause: err });
  }
  if (ack.ok) return;
  stream.destroy();
  throw errorFromWire(ack.error.code, ack.error.message);
}
