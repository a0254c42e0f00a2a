// The proxy's one TLS port, after the handshake: who the peer is, then where its connection goes — a plugin (by
// ALPN id, or by the TLS server name for clients that offer none of tp's), the agents' tunnel endpoint, or the web
// API. No protocol is named here: plugins come from the registry.
import type { TLSSocket } from 'node:tls';
import { ANONYMOUS, type Identity, identityFromCert } from '../auth/identity.ts';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { parseHostPort } from '../net/index.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import { type PluginConnectionDeps, servePluginConnection } from './pluginRoute.ts';
import type { TunnelRegistry } from './tunnels.ts';

/** The ALPN protocol names the core serves on the proxy's one TLS port; every other one is a plugin's. */
export const ALPN = { tunnel: 'tp-tunnel', http: 'http/1.1' } as const;

/** What the router hands connections to. */
export interface RouterDeps {
  plugins: PluginRegistry;
  cluster: string;
  publicAddr: () => string;
  /** What plugin connections get (the state, the gate, the ways to agents). */
  plugin: Omit<PluginConnectionDeps, 'publicAddr'> & { tunnels: TunnelRegistry };
  tunnelKeepaliveMs: number;
  /** Every open connection (for close and the metrics). */
  open: Set<TLSSocket>;
  /** The connection showed a verified certificate: it no longer counts against its address's limit. */
  authenticated: (socket: TLSSocket) => void;
  /** Takes a connection for the web API (http/1.1, or no ALPN), with who it is. */
  web: (socket: TLSSocket, who: Identity) => void;
}

/** Returns the handler of the TLS server's secure connections, routing each as described above. */
export function routeConnection(d: RouterDeps): (socket: TLSSocket) => void {
  /** The plugin owning the connection's TLS server name (kubectl, browsers on app hosts), for web ALPN or none. */
  const sniPlugin = (socket: TLSSocket) => {
    const name = socket.servername;
    if (!name || (socket.alpnProtocol && socket.alpnProtocol !== ALPN.http)) return undefined;
    return d.plugins.forServerName(name, {
      cluster: d.cluster,
      publicHost: parseHostPort(d.publicAddr())[0],
      resources: (kind) => d.plugin.view.resourcesNow(kind),
    });
  };
  return (socket) => {
    d.open.add(socket);
    socket.on('close', () => d.open.delete(socket));
    socket.on('error', (err) => log.debug('proxy connection error', { error: describe(err) }));
    let who = ANONYMOUS;
    try {
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      if (peer?.raw) who = identityFromCert(peer.raw);
    } catch (err) {
      log.warn('unreadable client certificate', { error: describe(err) });
    }
    if (who.kind !== ANONYMOUS.kind) d.authenticated(socket);
    const plugin = (socket.alpnProtocol && d.plugins.forAlpn(socket.alpnProtocol)) || sniPlugin(socket);
    if (plugin) {
      servePluginConnection(socket, plugin, who, { ...d.plugin, publicAddr: d.publicAddr }).catch((err: unknown) => {
        log.error('plugin connection failed', { plugin: plugin.name, error: describe(err) });
        socket.destroy();
      });
      return;
    }
    if (socket.alpnProtocol !== ALPN.tunnel) return d.web(socket, who);
    if (who.kind !== 'node') {
      log.warn('tunnel refused: not a node certificate', { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    d.plugin.tunnels.accept(who.name, socket, d.tunnelKeepaliveMs);
  };
}
