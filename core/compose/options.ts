import { hostname } from 'node:os';
import type { Agent, AgentOptions } from '../agent/agent.ts';
import type { CommandLabel } from '../agent/commandLabels.ts';
import type { AuthServer, AuthServerOptions } from '../auth/server.ts';
import { type Clock, parseDuration } from '../clock.ts';
import { DEFAULT_AUTH_LISTEN, defaultClusterName } from '../config/defaults.ts';
import type { DataLayout } from '../config/layout.ts';
import type { Config } from '../config/schema.ts';
import type { ConnectionLimits } from '../net/connectionLimits.ts';
import type { PluginLoader, PluginRegistry } from '../plugin/registry.ts';
import type { ProxyOptions, ProxyServer } from '../proxy/server.ts';

/** How to build a cluster beyond what tp.yaml says: where, and the knobs tests and the CLI's flags turn. */
export interface ComposeOptions {
  /** The data dir, already chosen (--data-dir, then tp.yaml's data_dir, then the default). */
  dataDir: string;
  version: string;
  clock?: Clock;
  /** Makes the all-in-one node's host ID on its first start. Default: random UUIDs. */
  newId?: () => string;
  /** An auth server already running in this process (a test restarting only its proxy). */
  localAuth?: AuthServer;
  /** Where the cluster is when auth does not run here: a proxy joins auth, a node joins through a proxy. */
  join?: { authServers?: string[]; proxy?: string; token?: string; caPin?: string };
  /** The address a direct-mode node tells the proxy to dial. */
  advertise?: string;
  /** The protocol plugins to load: the build's (plugins/index.ts, given by cmd/), or a test's with its fixtures. */
  plugins: PluginLoader[];
  /** `tp agent start --<plugin flag> VALUE` values, by flag name (entries without a file). */
  pluginFlags?: Record<string, string[]>;
  /** Per-service overrides, applied last (tests: ports, short ticks, lockout policy, backend ...). */
  auth?: Partial<AuthServerOptions>;
  proxy?: Partial<ProxyOptions>;
  agent?: Partial<AgentOptions>;
}

/** The services one composition started, and the data dir layout they share. */
export interface ComposedCluster extends AsyncDisposable {
  layout: DataLayout;
  /** The plugins this composition loaded. */
  plugins: PluginRegistry;
  auth?: AuthServer;
  proxy?: ProxyServer;
  agent?: Agent;
  /** Stops what was started, last first, and releases the data dir locks. */
  close(): Promise<void>;
}

/** The command labels of a config's ssh section, in the agent's form. */
export function commandLabels(cfg: Config): CommandLabel[] {
  return cfg.ssh.commands.map((c) => ({ name: c.name, command: c.command, periodMs: parseDuration(c.period) }));
}

/** Auth server options from tp.yaml, with `o.auth` applied last. */
export function authOptions(cfg: Config, layout: DataLayout, o: ComposeOptions): AuthServerOptions {
  return {
    clusterName: cfg.cluster_name ?? defaultClusterName(),
    dataDir: layout.dataDir,
    storage: cfg.storage,
    listen: cfg.auth.listen ?? DEFAULT_AUTH_LISTEN,
    secondFactor: cfg.auth.second_factor,
    sessionRecording: cfg.auth.session_recording,
    recordings: cfg.auth.recordings,
    metricsListen: cfg.auth.metrics_listen,
    publicUrl: cfg.auth.public_url ?? (cfg.proxy.public_addr ? `https://${cfg.proxy.public_addr}` : undefined),
    ...(o.clock ? { clock: o.clock } : {}),
    ...o.auth,
  };
}

/**
 * The names the all-in-one proxy's certificate carries: loopback, this host, the public address's host, and the
 * listen address when it names one interface (clients dialling `listen` must find it in the certificate).
 */
export function proxyNames(cfg: Config): string[] {
  const hostOf = (addr: string) => addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const listen = cfg.proxy.listen ? hostOf(cfg.proxy.listen) : '';
  const specific = listen && !['0.0.0.0', '::', '', 'localhost', '127.0.0.1'].includes(listen);
  return [
    'localhost',
    '127.0.0.1',
    hostname(),
    ...(cfg.proxy.public_addr ? [hostOf(cfg.proxy.public_addr)] : []),
    ...(specific ? [listen] : []),
  ];
}

/** The proxy's connection deadlines and limits from tp.yaml; what it leaves out keeps the proxy's defaults. */
export function proxyLimits(cfg: Config): Partial<ConnectionLimits> {
  const p = cfg.proxy;
  return {
    ...(p.handshake_timeout ? { handshakeMs: parseDuration(p.handshake_timeout) } : {}),
    ...(p.request_timeout ? { requestMs: parseDuration(p.request_timeout) } : {}),
    ...(p.idle_timeout ? { idleMs: parseDuration(p.idle_timeout) } : {}),
    ...(p.max_unauthenticated_per_ip ? { unauthenticatedPerIp: p.max_unauthenticated_per_ip } : {}),
  };
}
