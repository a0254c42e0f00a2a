import type { TLSSocket } from 'node:tls';
import type { Identity } from '../auth/identity.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import { describe, TpError, Unauthenticated } from '../errors.ts';
import { log } from '../log.ts';
import { splice } from '../net/index.ts';
import { type RelayAnswer, type RelayRequest, RelayRequestSchema, readHeader } from '../tunnel/header.ts';
import type { AccessGate, AccessRequest } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { type DialTls, dialNode } from './dial.ts';
import type { TunnelRegistry } from './tunnels.ts';

/**
 * Serves one `tp-ssh` connection: reads the wanted node and login, checks the user's certificate, locks and roles
 * before a single byte reaches the node, then splices the client to the node. The SSH session inside is never
 * decrypted here.
 */
export async function relaySsh(
  socket: TLSSocket,
  who: Identity,
  view: ClusterView,
  gate: AccessGate,
  tunnels: TunnelRegistry,
  tls: DialTls,
  /** Why TLS did not accept the client's certificate, when it offered one. */
  certError?: string,
  /** How long the client has to send its request header (ms). */
  headerTimeoutMs = 10_000,
): Promise<void> {
  const client = `${socket.remoteAddress}:${socket.remotePort}`;
  let req: RelayRequest | undefined;
  const access = (): AccessRequest => ({
    kind: 'node',
    via: 'relay',
    who,
    target: req?.node ?? '',
    principal: req?.login,
    remote: client,
  });
  const answer = (a: RelayAnswer) => socket.write(`${JSON.stringify(a)}\n`);
  try {
    if (who.kind !== 'user' && certError)
      throw new Unauthenticated(
        `your certificate is not accepted by this cluster (${certError}): it expired, belongs to another cluster, or comes from a CA this cluster has rotated out; run \`tp login\``,
      );
    if (who.kind !== 'user') throw new Unauthenticated('a user certificate is required: run `tp login`');
    req = await readHeader(socket, RelayRequestSchema, 8192, headerTimeoutMs);
    const node = await gate.authorize<NodeRecord>(access());
    const cas = await view.cas();
    const upstream = await dialNode(node, tunnels, tls, { client, user: who.name });
    answer({ ok: true, hostId: node.hostId, name: node.name, hostCa: cas.hostCa, tlsCa: cas.tlsCa });
    socket.resume();
    splice(socket, upstream);
  } catch (err) {
    const code = err instanceof TpError ? err.code : 'internal';
    const message = err instanceof TpError ? err.message : 'internal proxy error';
    if (!(err instanceof TpError)) log.error('ssh relay failed', { error: describe(err) });
    gate.refused(access(), err instanceof TpError ? err : new TpError(message));
    answer({ ok: false, error: { code, message } });
    socket.end();
  }
}
