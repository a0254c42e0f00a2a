import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ApiClient } from '../api/client.ts';
import type { AuthServer } from '../auth/server.ts';
import { type Clock, parseDuration } from '../clock.ts';
import { DEFAULT_PROXY_LISTEN, DEFAULT_PROXY_SSH_LISTEN } from '../config/defaults.ts';
import type { DataLayout } from '../config/layout.ts';
import type { Config } from '../config/schema.ts';
import { BadParameter, describe } from '../errors.ts';
import { type HostIdentity, saveHostIdentity } from '../identity/hostIdentity.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import type { ProxyServer } from '../proxy/server.ts';
import { lockDataDir } from './dataDirLock.ts';
import { keptLocalIdentity } from './keptIdentity.ts';
import { authOptions, type ComposeOptions, proxyLimits, proxyNames } from './options.ts';

/** A client of the auth in this process that holds `identity`. */
export function clientAs(auth: AuthServer, identity: HostIdentity): ApiClient {
  return new ApiClient([auth.addr], { ca: identity.tlsCa, cert: identity.tlsCert, key: identity.tlsKey });
}

/**
 * Starts the proxy of a composition: with an identity issued by `auth` when it runs in this process (host ID and
 * keys kept in the layout's proxy dir; that auth's sign-up links then name this proxy), else joined to
 * `o.join.authServers` and kept there. Pushes its stop onto `stops`.
 */
export async function startProxyService(
  cfg: Config,
  layout: DataLayout,
  o: ComposeOptions & { newId: () => string },
  auth: AuthServer | undefined,
  plugins: PluginRegistry,
  clock: Clock,
  stops: (() => unknown)[],
): Promise<ProxyServer> {
  let identity: HostIdentity;
  let api: ApiClient;
  let onIdentity: ((id: HostIdentity) => void) | undefined;
  if (auth) {
    identity = await keptLocalIdentity(auth.service, layout.proxyDir, 'proxy', hostname(), proxyNames(cfg), o.newId);
    api = clientAs(auth, identity);
  } else {
    const servers = o.join?.authServers ?? [];
    if (servers.length === 0)
      throw new BadParameter('the proxy needs an auth server: give --auth-server, or enable auth in tp.yaml');
    stops.push(lockDataDir(layout.dataDir, 'proxy', clock).release);
    const { joinAuthAsProxy } = await import('../proxy/join.ts');
    const publicAddr = o.proxy?.publicAddr ?? cfg.proxy.public_addr;
    ({ identity, auth: api } = await joinAuthAsProxy({
      dataDir: layout.proxyDir,
      servers,
      token: o.join?.token,
      caPin: o.join?.caPin,
      names: publicAddr ? [publicAddr.split(':')[0]!] : [],
    }));
    onIdentity = (id) => saveHostIdentity(layout.proxyDir, id);
  }
  const { startProxy } = await import('../proxy/server.ts');
  const proxy = await startProxy({
    listen: cfg.proxy.listen ?? DEFAULT_PROXY_LISTEN,
    sshListen: cfg.proxy.ssh_listen ?? DEFAULT_PROXY_SSH_LISTEN,
    publicAddr: cfg.proxy.public_addr,
    identity,
    auth: api,
    version: o.version,
    webSessionTtlMs: parseDuration(cfg.proxy.web_session_ttl),
    ...(cfg.proxy.tunnel_keepalive ? { tunnelKeepaliveMs: parseDuration(cfg.proxy.tunnel_keepalive) } : {}),
    ...(cfg.proxy.tunnel_accept_rate ? { tunnelAdmission: { perSecond: cfg.proxy.tunnel_accept_rate } } : {}),
    metricsListen: cfg.proxy.metrics_listen,
    ...appsCertOf(cfg),
    limits: proxyLimits(cfg),
    onIdentity,
    clock,
    plugins,
    ...o.proxy,
  });
  stops.push(() => proxy.close());
  // Sign-up links from an auth in this process point at this proxy unless tp.yaml names the public address.
  if (auth && authOptions(cfg, layout, o).publicUrl === undefined) auth.setPublicUrl(`https://${proxy.publicAddr}`);
  return proxy;
}

/** The operator's certificate for app hosts (`proxy.apps_cert_file` and `apps_key_file`, both or neither). */
function appsCertOf(cfg: Config): { appsCert?: { cert: string; key: string } } {
  const { apps_cert_file: certFile, apps_key_file: keyFile } = cfg.proxy;
  if (!certFile && !keyFile) return {};
  if (!certFile || !keyFile) throw new BadParameter('proxy.apps_cert_file and proxy.apps_key_file go together');
  const read = (file: string, key: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new BadParameter(`proxy.${key}: cannot read ${file}: ${describe(err)}`);
    }
  };
  return { appsCert: { cert: read(certFile, 'apps_cert_file'), key: read(keyFile, 'apps_key_file') } };
}
