// The proxy side of app-http: a connection on an app's host (the plugin's `sni`) is served as an app host; one on the
// plugin's ALPN id (scripts, `tp proxy app`) takes the core's generic path in the default framing.
import type { TLSSocket } from 'node:tls';
import type { ProxyPluginContext } from '../../core/plugin/types.ts';
import { routePluginConnection } from '../../core/proxy/pluginRoute.ts';
import { serveAppHost } from './appHost.ts';
import { AppSessionCache } from './appSessions.ts';
import plugin from './index.ts';

const sessions = new AppSessionCache();

/** Serves one TLS connection routed to app-http: by its ALPN id in the default framing, else as an app host. */
export function handleAppConnection(socket: TLSSocket, ctx: ProxyPluginContext): Promise<void> {
  if (plugin.alpn.includes(socket.alpnProtocol || '')) {
    const raw = ctx.who.kind === 'user' ? socket.getPeerCertificate()?.raw : undefined;
    return routePluginConnection(socket, plugin as never, ctx, raw ? Buffer.from(raw).toString('base64') : undefined);
  }
  return serveAppHost(socket, ctx, sessions);
}
