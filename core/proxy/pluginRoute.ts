import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import * as v from 'valibot';
import type { Identity } from '../auth/identity.ts';
import { AccessDenied, describe, TpError, Unauthenticated } from '../errors.ts';
import { log } from '../log.ts';
import { splice } from '../net/index.ts';
import type { PluginDefinition, ProxyPluginContext, ProxyRoute, ResourceRecord } from '../plugin/types.ts';
import { readHeader, writeHeader } from '../tunnel/header.ts';
import type { AccessGate, AccessRequest } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { type DialTarget, type DialTls, dialAgent, readAgentAck } from './dial.ts';
import type { TunnelRegistry } from './tunnels.ts';

/** What a client sends first on a plugin's ALPN id in the default framing (core/plugin/README.md). */
export const PluginRequestSchema = v.object({
  v: v.literal(1),
  target: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  principal: v.optional(v.pipe(v.string(), v.maxLength(256))),
  route: v.optional(v.record(v.pipe(v.string(), v.maxLength(64)), v.pipe(v.string(), v.maxLength(1024)))),
});

/** The proxy's answer in the default framing: the resource reached, or the refusal as a wire error. */
export const PluginAnswerSchema = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    resource: v.object({ kind: v.string(), name: v.string(), spec: v.record(v.string(), v.unknown()) }),
  }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);
export type PluginAnswer = v.InferOutput<typeof PluginAnswerSchema>;

/** Reads the route in the default framing: one JSON line `{v:1, target, principal?, route?}`. */
async function defaultAccept(socket: TLSSocket, timeoutMs: number): Promise<ProxyRoute> {
  const r = await readHeader(socket, PluginRequestSchema, 8192, timeoutMs);
  return { target: r.target, principal: r.principal, route: r.route ?? {} };
}

/**
 * Serves one connection on a plugin's ALPN id that the plugin does not handle itself: refuses a peer without a
 * verified user certificate, reads the route (the plugin's `accept`, else the default framing), asks the gate for
 * the resource of the plugin's kind, dials the agent serving it with the user's certificate in the stream header,
 * answers (default framing only) and then moves bytes both ways. Every refusal is audited and answered.
 */
export async function routePluginConnection(
  socket: TLSSocket,
  plugin: PluginDefinition<never>,
  ctx: ProxyPluginContext,
  /** The user's verified client certificate, base64 DER. */
  cert: string | undefined,
): Promise<void> {
  const { who, gate } = ctx;
  const framed = !plugin.proxy?.accept;
  const client = `${socket.remoteAddress}:${socket.remotePort}`;
  let route: ProxyRoute | undefined;
  const access = (): AccessRequest => ({
    kind: plugin.kind,
    via: plugin.name,
    who,
    target: route?.target ?? '',
    principal: route?.principal,
    remote: client,
  });
  let upstream: Duplex | undefined;
  try {
    // An app certificate (`tp apps login`) reaches its own app and nothing else.
    if (who.kind === 'app' && plugin.kind !== 'app')
      throw new AccessDenied(`this certificate is for app "${who.app?.app}" only: use your tp login certificate`);
    if ((who.kind !== 'user' && who.kind !== 'app') || !cert) {
      const why = ctx.certError
        ? `your certificate is not accepted by this cluster (${ctx.certError}): it expired, belongs to another cluster, or comes from a CA this cluster has rotated out; run \`tp login\``
        : 'a user certificate is required: run `tp login`';
      throw new Unauthenticated(why);
    }
    route = plugin.proxy?.accept ? await plugin.proxy.accept(socket) : await defaultAccept(socket, ctx.headerTimeoutMs);
    if (who.kind === 'app' && route.target !== who.app?.app)
      throw new AccessDenied(`this certificate is for app "${who.app?.app}" only, not for app "${route.target}"`);
    const resource = await gate.authorize<ResourceRecord>(access());
    if (resource.plugin !== plugin.name)
      throw new AccessDenied(
        `${plugin.kind} "${resource.name}" is served by plugin "${resource.plugin}", not "${plugin.name}": connect with its protocol`,
      );
    upstream = await ctx.dial(resource, { resource: resource.name, route: route.route, cert, client, user: who.name });
    if (framed)
      writeHeader(socket, {
        ok: true,
        resource: { kind: resource.kind, name: resource.name, spec: resource.spec },
      } satisfies PluginAnswer);
    socket.resume();
    splice(socket, upstream);
  } catch (err) {
    upstream?.destroy();
    const e = err instanceof TpError ? err : new TpError(`internal proxy error`);
    if (!(err instanceof TpError)) log.error('plugin connection failed', { plugin: plugin.name, error: describe(err) });
    gate.refused(access(), e === err ? err : e);
    if (framed) writeHeader(socket, { ok: false, error: { code: e.code, message: e.message } } satisfies PluginAnswer);
    else plugin.proxy?.refuse?.(socket, e);
    socket.end();
  }
}

/** What the proxy lends a plugin connection: the state, the gate, and the ways to reach agents. */
export interface PluginConnectionDeps {
  view: ClusterView;
  gate: AccessGate;
  tunnels: TunnelRegistry;
  dialTls: DialTls;
  headerTimeoutMs: number;
  /** The proxy's public address now. */
  publicAddr: () => string;
}

/**
 * Serves one connection on a plugin's ALPN id: the plugin's own `proxy.handle` when it has one (SSH's relay), else
 * the generic path above. Either way the plugin dials agents under its own name.
 */
export async function servePluginConnection(
  socket: TLSSocket,
  plugin: PluginDefinition<never>,
  who: Identity,
  d: PluginConnectionDeps,
): Promise<void> {
  const peer = socket.getPeerCertificate();
  /** The agent serving a resource: its host ID, and its direct address from its node record. */
  const agentOf = async (r: ResourceRecord): Promise<DialTarget> => {
    const node = (await d.view.nodes()).find((n) => n.hostId === r.hostId);
    return { hostId: r.hostId, name: r.name, kind: r.kind, addr: node?.addr };
  };
  const ctx: ProxyPluginContext = {
    who,
    certError: !socket.authorized && peer?.raw ? String(socket.authorizationError) : undefined,
    headerTimeoutMs: d.headerTimeoutMs,
    gate: d.gate,
    view: d.view,
    publicAddr: d.publicAddr(),
    call: (method, path, body, parse) => d.view.auth.send(parse, method, path, body),
    emit: (events) => d.view.emit(events),
    dial: async (to, header) => {
      const target = 'plugin' in to ? await agentOf(to) : to;
      const stream = await dialAgent(target, d.tunnels, d.dialTls, { service: plugin.name, ...header });
      if (!plugin.endToEnd) await readAgentAck(stream, `${target.kind ?? 'node'} "${target.name}"`);
      return stream;
    },
  };
  if (plugin.proxy?.handle) return plugin.proxy.handle(socket, ctx);
  const cert =
    (who.kind === 'user' || who.kind === 'app') && peer?.raw ? Buffer.from(peer.raw).toString('base64') : undefined;
  return routePluginConnection(socket, plugin, ctx, cert);
}
