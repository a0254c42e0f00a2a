// The proxy side of app-http: a connection on an app's host (the plugin's `sni`) is served as an app host; one on the
// plugin's ALPN id (scripts, `tp proxy app`) takes the core's generic path in the default framing.
import type { TLSSocket } from 'node:tls';
import { cryptoIds } from '../../core/ids.ts';
import type { ProxyPluginContext } from '../../core/plugin/types.ts';
import { routePluginConnection } from '../../core/proxy/pluginRoute.ts';
import { type Holder, serveAppHost } from './appHost.ts';
import { AppSessionCache } from './appSessions.ts';
import plugin from './index.ts';

const sessions = new AppSessionCache();

/**
 * Who an app certificate (`tp apps login`, for curl) makes the connection's holder, when TLS verified one: such a
 * connection needs no cookie. The app it names is checked against the host's app by the caller.
 */
function appCertSession(socket: TLSSocket, ctx: ProxyPluginContext): Holder | undefined {
  const raw = ctx.who.kind === 'app' && ctx.who.app ? socket.getPeerCertificate()?.raw : undefined;
  if (!raw || !ctx.who.app) return undefined;
  return {
    id: cryptoIds.uuid(),
    app: ctx.who.app.app,
    publicAddr: ctx.who.app.publicAddr,
    user: ctx.who.name,
    roles: ctx.who.roles,
    traits: ctx.who.traits ?? {},
    tlsCertDer: Buffer.from(raw).toString('base64'),
  };
}

/** Serves one TLS connection routed to app-http: by its ALPN id in the default framing, else as an app host. */
export function handleAppConnection(socket: TLSSocket, ctx: ProxyPluginContext): Promise<void> {
  if (plugin.alpn.includes(socket.alpnProtocol || '')) {
    const raw = ctx.who.kind === 'user' || ctx.who.kind === 'app' ? socket.getPeerCertificate()?.raw : undefined;
    return routePluginConnection(socket, plugin as never, ctx, raw ? Buffer.from(raw).toString('base64') : undefined);
  }
  return serveAppHost(socket, ctx, sessions, appCertSession(socket, ctx));
}
