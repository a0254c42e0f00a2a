import type { TLSSocket } from 'node:tls';
import type { NodeRecord } from '../../core/auth/nodes.ts';
import { describe, TpError, Unauthenticated } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import { splice } from '../../core/net/index.ts';
import type { ProxyPluginContext } from '../../core/plugin/types.ts';
import type { AccessRequest } from '../../core/proxy/accessGate.ts';
import { type RelayAnswer, type RelayRequest, RelayRequestSchema, readHeader } from '../../core/tunnel/header.ts';

/**
 * Serves one `tp-ssh` connection: reads the wanted node and login, checks the user's certificate, locks and roles
 * before a single byte reaches the node, then splices the client to the node. The SSH session inside is never
 * decrypted here.
 */
export async function relaySsh(socket: TLSSocket, ctx: ProxyPluginContext): Promise<void> {
  const { who, gate, view, certError } = ctx;
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
    req = await readHeader(socket, RelayRequestSchema, 8192, ctx.headerTimeoutMs);
    const node = await gate.authorize<NodeRecord>(access());
    const cas = await view.cas();
    const upstream = await ctx.dial(node, { client, user: who.name });
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
