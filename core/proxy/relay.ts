import type { TLSSocket } from 'node:tls';
import type { Identity } from '../auth/identity.ts';
import { lockedError } from '../auth/locks.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import { AccessDenied, describe, TpError, Unauthenticated } from '../errors.ts';
import { log } from '../log.ts';
import { splice } from '../net/index.ts';
import { checkNodeAccess } from '../rbac/index.ts';
import { type RelayAnswer, type RelayRequest, readHeader } from '../tunnel/header.ts';
import type { ClusterView } from './clusterView.ts';
import { type DialTls, dialNode } from './dial.ts';
import type { TunnelRegistry } from './tunnels.ts';

/**
 * Resolves `nodeRef` and checks, before a byte reaches the node, that neither the user nor the node is locked and
 * that the user's roles allow `login` there. Shared by the SSH relay and the web terminal.
 */
export async function authorizeNodeAccess(
  view: ClusterView,
  who: Identity,
  nodeRef: string,
  login: string,
): Promise<NodeRecord> {
  const node = await view.resolveNode(nodeRef);
  const userLock = await view.lockFor({ user: who.name });
  if (userLock) throw lockedError(`user "${who.name}"`, userLock);
  const nodeLock = await view.lockFor({ node });
  if (nodeLock) throw lockedError(`node "${node.name}"`, nodeLock);
  checkNodeAccess(await view.rolesNamed(who.roles), who.traits ?? {}, login, node.labels);
  return node;
}

/**
 * Serves one `tp-ssh` connection: reads the wanted node and login, checks the user's certificate, locks and roles
 * before a single byte reaches the node, then splices the client to the node. The SSH session inside is never
 * decrypted here.
 */
export async function relaySsh(
  socket: TLSSocket,
  who: Identity,
  view: ClusterView,
  tunnels: TunnelRegistry,
  tls: DialTls,
  /** Why TLS did not accept the client's certificate, when it offered one. */
  certError?: string,
  /** How long the client has to send its request header (ms). */
  headerTimeoutMs = 10_000,
): Promise<void> {
  const client = `${socket.remoteAddress}:${socket.remotePort}`;
  let req: RelayRequest | undefined;
  const answer = (a: RelayAnswer) => socket.write(`${JSON.stringify(a)}\n`);
  try {
    if (who.kind !== 'user' && certError)
      throw new Unauthenticated(
        `your certificate is not accepted by this cluster (${certError}): it expired, belongs to another cluster, or comes from a CA this cluster has rotated out; run \`tp login\``,
      );
    if (who.kind !== 'user') throw new Unauthenticated('a user certificate is required: run `tp login`');
    req = await readHeader<RelayRequest>(socket, 8192, headerTimeoutMs);
    if (typeof req?.node !== 'string' || typeof req.login !== 'string') throw new AccessDenied('bad relay request');
    const node = await authorizeNodeAccess(view, who, req.node, req.login);
    const cas = await view.cas();
    const upstream = await dialNode(node, tunnels, tls, { client, user: who.name });
    answer({ ok: true, hostId: node.hostId, name: node.name, hostCa: cas.hostCa, tlsCa: cas.tlsCa });
    socket.resume();
    splice(socket, upstream);
  } catch (err) {
    const code = err instanceof TpError ? err.code : 'internal';
    const message = err instanceof TpError ? err.message : 'internal proxy error';
    if (!(err instanceof TpError)) log.error('ssh relay failed', { error: describe(err) });
    view.emit([
      {
        type: 'auth.attempt',
        success: false,
        user: who.name,
        login: req?.login,
        target: req?.node,
        error: message,
        'addr.remote': client,
      },
    ]);
    answer({ ok: false, error: { code, message } });
    socket.end();
  }
}
