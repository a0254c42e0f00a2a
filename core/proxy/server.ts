import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ApiClient } from '../api/client.ts';
import { ReissuedCertsSchema } from '../api/hostSchemas.ts';
import { AckSchema } from '../api/schemas.ts';
import { ANONYMOUS, type Identity } from '../auth/identity.ts';
import { type Clock, systemClock } from '../clock.ts';
import { IdentityFollower } from '../identity/follower.ts';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import type { IdSource } from '../ids.ts';
import { log } from '../log.ts';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from '../net/connectionLimits.ts';
import { httpDeadlines } from '../net/httpDeadlines.ts';
import { parseHostPort } from '../net/index.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import { startMetricsServer } from '../web/metricsServer.ts';
import { jsonApi } from '../web/router.ts';
import { AccessGate, registerKindPolicies } from './accessGate.ts';
import { appLaunchRoutes } from './appLaunch.ts';
import { type AppsCert, appsCertSni } from './appsCert.ts';
import { ClusterView } from './clusterView.ts';
import { startJumpServer } from './jump.ts';
import { pageRoutes } from './pages.ts';
import { guardTlsPort } from './portGuard.ts';
import { ALPN, routeConnection } from './router.ts';
import { ssoRoutes } from './sso.ts';
import { TunnelAdmission, type TunnelAdmissionOptions } from './tunnelAdmission.ts';
import { nodeOnline, TunnelRegistry } from './tunnels.ts';
import { webRoutes } from './web.ts';
import { WebDesktops } from './webDesktop.ts';
import { desktopInfoRoutes } from './webDesktopInfo.ts';
import { webFileRoutes } from './webFiles.ts';
import { resourceRoutes } from './webResources.ts';
import { authSessionBackend, WebSessionStore } from './webSessions.ts';
import { WebTerminals } from './webTerminal.ts';
import { webUiRoutes } from './webUi.ts';

export { ALPN } from './router.ts';

export interface ProxyOptions {
  /** `host:port` of the TLS port; port 0 picks one. */
  listen: string;
  /** Address clients use (shown by `tp` and written into configs); defaults to the bound address. */
  publicAddr?: string;
  identity: HostIdentity;
  /** Client for the auth API, holding the proxy's identity. */
  auth: ApiClient;
  version: string;
  /** Tunnel keepalive interval (ms). Default 15 s. */
  tunnelKeepaliveMs?: number;
  /** How fast agent tunnels are taken on (per second, event-loop lag) before agents are asked to come back later. */
  tunnelAdmission?: Omit<TunnelAdmissionOptions, 'clock'>;
  /** `host:port` of the plain SSH jump port for stock OpenSSH (`ssh -J`); none when absent. */
  sshListen?: string;
  /** File of the proxy's audit event spool; in memory when absent. */
  spoolPath?: string;
  /** Name the proxy reports under in `tp rotate status` (default: the host name). */
  name?: string;
  /** How often the proxy checks for CA rotation changes (ms). Default 5 s. */
  rotationPollMs?: number;
  /** Lifetime of a web UI login (its certificates); auth may cap it by role. Default 12 h. */
  webSessionTtlMs?: number;
  /** Called with the identity after a CA rotation renewed it (standalone proxies save it). */
  onIdentity?: (id: HostIdentity) => void;
  /** Handshake, request and idle deadlines and the per-address limit for unauthenticated connections. */
  limits?: Partial<ConnectionLimits>;
  /** `host:port` of a plain-HTTP listener serving `/metrics`; none when absent (never on the public port). */
  metricsListen?: string;
  /** Time for the cluster view, tunnels, web sessions and the jump port's certificate checks. Default the wall clock. */
  clock?: Clock;
  /** Web session tokens, SSO browser bindings and audit event IDs. Default the platform's cryptographic randomness. */
  ids?: IdSource;
  /** The protocol plugins (plugins/index.ts): their ALPN ids are routed to them. */
  plugins: PluginRegistry;
  /** An operator's certificate for web app hosts, served to the TLS names it covers (`proxy.apps_cert_file`). */
  appsCert?: AppsCert;
}

/** A running proxy. */
export interface ProxyServer extends AsyncDisposable {
  addr: string;
  /** The SSH jump port's address, when enabled. */
  sshAddr?: string;
  /** The metrics listener's address, when enabled. */
  metricsAddr?: string;
  publicAddr: string;
  tunnels: TunnelRegistry;
  view: ClusterView;
  /** The access gate every path asks; plugin kinds register their policies on it (`registerKindPolicies`). */
  gate: AccessGate;
  close(): Promise<void>;
}

/**
 * Starts the proxy: one TLS port that routes each connection by ALPN to the web API (http/1.1), the reverse-tunnel
 * endpoint (tp-tunnel) or the plugin that registered the ALPN id (SSH's relay, databases ...). Client certificates
 * are verified against the cluster's TLS CA; who the peer is decides what it may do on each route.
 */
export async function startProxy(opts: ProxyOptions): Promise<ProxyServer> {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits };
  const clock = opts.clock ?? systemClock;
  const view = new ClusterView(opts.auth, opts.spoolPath, undefined, clock, opts.ids);
  const admission = new TunnelAdmission({ ...opts.tunnelAdmission, clock });
  const tunnels = new TunnelRegistry(clock, admission);
  view.online = (n) => nodeOnline(n, tunnels);
  const identities = new WeakMap<object, Identity>();
  /** Each connection's verified client certificate (base64 DER), forwarded with admin calls made for a user. */
  const peerCerts = new WeakMap<object, string>();
  const open = new Set<TLSSocket>();
  const dialTls = { cert: opts.identity.tlsCert, key: opts.identity.tlsKey, ca: opts.identity.tlsCa };
  const [host, port] = parseHostPort(opts.listen);
  const info: { publicAddr: string; version: string; sshJumpAddr?: string } = {
    publicAddr: opts.publicAddr ?? '',
    version: opts.version,
  };
  const sessions = new WebSessionStore(authSessionBackend(opts.auth), () => clock.now(), opts.ids);
  const gate = new AccessGate(view);
  registerKindPolicies(gate, opts.plugins.all());
  const terminals = new WebTerminals({ view, gate, tunnels, dialTls }, sessions);
  const desktops = new WebDesktops({ view, gate, tunnels, dialTls }, sessions, opts.ids, () => clock.now());
  const files = webFileRoutes({ view, gate, tunnels, dialTls, sessions, ids: opts.ids });
  const uiRoutes = webUiRoutes({
    view,
    tunnels,
    gate,
    sessions,
    sessionTtlMs: opts.webSessionTtlMs ?? 12 * 3_600_000,
  });
  const sso = ssoRoutes({
    view,
    sessions,
    publicAddr: () => info.publicAddr,
    sessionTtlMs: opts.webSessionTtlMs ?? 12 * 3_600_000,
    ids: opts.ids,
  });
  const routes = [
    ...webRoutes(view, tunnels, info, (req) => peerCerts.get(req.socket)),
    ...resourceRoutes(view, gate),
    ...appLaunchRoutes({ view, gate, sessions, publicAddr: () => info.publicAddr, ids: opts.ids }),
    ...uiRoutes,
    ...files,
    ...desktopInfoRoutes({ view, gate, tunnels, dialTls }, sessions),
    ...sso,
  ];
  const api = jsonApi([...routes, ...pageRoutes()], {
    metric: 'tp_proxy_requests_total',
    who: (req) => identities.get(req.socket) ?? ANONYMOUS,
    gauges: () => ({
      tp_proxy_tunnels: tunnels.size,
      tp_proxy_tunnels_deferred_total: admission.deferredTotal,
      tp_proxy_connections: open.size,
      tp_proxy_web_sessions: sessions.size,
      tp_proxy_web_terminals: terminals.size,
      tp_proxy_connections_refused: guard.limit.refused,
      tp_process_resident_bytes: process.memoryUsage().rss,
    }),
  });
  const http = createHttpServer(api);
  const watchHttp = httpDeadlines(http, limits);
  http.on('upgrade', (req, sock, head) => (desktops.handles(req) ? desktops : terminals).upgrade(req, sock, head));
  const server = createTlsServer(
    {
      cert: opts.identity.tlsCert,
      key: opts.identity.tlsKey,
      ca: opts.identity.tlsCa,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: [...opts.plugins.alpnIds(), ALPN.tunnel, ALPN.http],
      ...(opts.appsCert
        ? {
            SNICallback: appsCertSni(
              opts.appsCert,
              () => parseHostPort(info.publicAddr)[0],
              () => dialTls.ca,
            ),
          }
        : {}),
      handshakeTimeout: limits.handshakeMs,
    },
    routeConnection({
      plugins: opts.plugins,
      cluster: opts.identity.cluster,
      publicAddr: () => info.publicAddr,
      plugin: { view, gate, tunnels, dialTls, headerTimeoutMs: limits.handshakeMs },
      tunnelKeepaliveMs: opts.tunnelKeepaliveMs ?? 15_000,
      open,
      authenticated: (socket) => guard.authenticated(socket),
      web: (socket, who) => {
        identities.set(socket, who);
        if (who.kind === 'user' || who.kind === 'node')
          peerCerts.set(socket, Buffer.from(socket.getPeerCertificate().raw).toString('base64'));
        watchHttp(socket);
        http.emit('connection', socket);
      },
    }),
  );
  const guard = guardTlsPort(server, limits);
  // Connections still in their TLS handshake are not in `open` yet; close must not wait for them.
  const accepted = new Set<{ destroy(): void }>();
  server.on('connection', (raw: Socket) => {
    accepted.add(raw);
    raw.once('close', () => accepted.delete(raw));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const reach = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address;
  const addr = `${reach}:${bound.port}`;
  info.publicAddr ||= addr;
  const jump = opts.sshListen
    ? await startJumpServer({
        listen: opts.sshListen,
        cluster: opts.identity.cluster,
        hostKey: opts.identity.sshKey,
        hostCert: opts.identity.sshCert,
        userCa: opts.identity.userCa,
        view,
        gate,
        tunnels,
        dialTls,
        limits,
        clock,
      })
    : undefined;
  const metrics = opts.metricsListen ? await startMetricsServer(opts.metricsListen, api.renderMetrics) : undefined;
  info.sshJumpAddr = jump?.addr;
  const follower = new IdentityFollower(
    opts.identity,
    {
      fetch: () => view.cas(),
      reissue: (req) => opts.auth.send(ReissuedCertsSchema, 'POST', '/v1/certs/reissue', req),
      report: async (r) => {
        await opts.auth.send(AckSchema, 'POST', '/v1/rotation/report', r);
      },
    },
    opts.name ?? hostname(),
    (id) => {
      server.setSecureContext({ cert: id.tlsCert, key: id.tlsKey, ca: id.tlsCa });
      Object.assign(dialTls, { cert: id.tlsCert, key: id.tlsKey, ca: id.tlsCa });
      opts.auth.setTls({ ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey });
      jump?.setIdentity(id.sshKey, id.sshCert, id.userCa);
      opts.onIdentity?.(id);
      log.info('proxy picked up new CA keys');
    },
    30_000,
    clock,
  );
  void follower.step();
  // A CA or rotation change arrives on the watched state at once; the timer only repeats reports and retries.
  view.replica.onChange((kinds) => {
    if (kinds.has('ca') || kinds.has('rotation')) void follower.step();
  });
  const rotationTimer = setInterval(() => void follower.step(), opts.rotationPollMs ?? 5000);
  log.info('proxy started', { addr, publicAddr: info.publicAddr, sshJump: jump?.addr });
  const close = async () => {
    clearInterval(rotationTimer);
    admission.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    tunnels.closeAll();
    terminals.close();
    desktops.close();
    jump?.close();
    metrics?.close();
    for (const s of open) s.destroy();
    for (const s of accepted) s.destroy();
    http.close();
    await closed;
    await view.close();
  };
  return {
    addr,
    sshAddr: jump?.addr,
    metricsAddr: metrics?.addr,
    publicAddr: info.publicAddr,
    tunnels,
    view,
    gate,
    close,
    [Symbol.asyncDispose]: close,
  };
}
