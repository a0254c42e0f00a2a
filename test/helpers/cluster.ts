import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentOptions } from '../../core/agent/agent.ts';
import { AuthClient } from '../../core/api/authClient.ts';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { localHostIdentity } from '../../core/auth/localIdentity.ts';
import type { AuthServer, AuthServerOptions } from '../../core/auth/server.ts';
import { type ComposedCluster, type ComposeOptions, composeCluster } from '../../core/compose/index.ts';
import { clientAs } from '../../core/compose/proxy.ts';
import type { DataLayout } from '../../core/config/layout.ts';
import { parseConfig } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import type { SectionSpec } from '../../core/config/sections.ts';
import { generateKeyPair } from '../../core/crypto/keys.ts';
import { loadRegistry, type PluginLoader, type PluginRegistry } from '../../core/plugin/registry.ts';
import type { ProxyOptions, ProxyServer } from '../../core/proxy/server.ts';
import { PLUGINS } from '../../plugins/index.ts';

/** The tp.yaml a test cluster runs when a test gives none: loopback ports picked by the OS, no second factor. */
export const TEST_CONFIG = `cluster_name: test.cluster
auth: {listen: "127.0.0.1:0", second_factor: "off"}
proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}
ssh: {enabled: false}
`;

/** Only the services named stay enabled (the others' settings are kept, e.g. the recordings store for the layout). */
function only(cfg: Config, on: 'auth' | 'proxy' | 'ssh'): Config {
  return {
    ...cfg,
    auth: { ...cfg.auth, enabled: on === 'auth' },
    proxy: { ...cfg.proxy, enabled: on === 'proxy' },
    ssh: { ...cfg.ssh, enabled: on === 'ssh' },
  };
}

/** An auth server in this process with clients for each kind of caller. */
export interface TestAuth extends AsyncDisposable {
  server: AuthServer;
  /** Stops the auth server (storage stays), for outage tests. */
  stop(): Promise<void>;
  /** Starts it again on the same address and data dir. */
  restart(): Promise<void>;
  dataDir: string;
  /** Where this data dir keeps the recording spool and store (as `tp start` lays it out). */
  layout: DataLayout;
  admin: ApiClient;
  /** The auth API as typed calls, as the admin (`admin` for a route with no call of its own). */
  client: AuthClient;
  /** A client holding a proxy identity (may log users in), issued the way the cluster's own proxy gets one. */
  proxy: () => Promise<ApiClient>;
  /** A client with no certificate. */
  anonymous: ApiClient;
  close(): Promise<void>;
}

/**
 * Starts the auth service of `config` (default TEST_CONFIG) through the composition `tp ca start` uses, on a temp
 * data dir unless the config or `opts` name one; `opts` overrides any auth option (clock, lockout, backend ...).
 */
export async function startTestAuth(
  opts: Partial<AuthServerOptions> = {},
  config = TEST_CONFIG,
  /** The plugins' tp.yaml sections the config may hold. */
  sections: SectionSpec[] = [],
): Promise<TestAuth> {
  const cfg = parseConfig(config, 'tp.yaml', sections);
  const given = opts.dataDir ?? cfg.data_dir;
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'tp-auth-'));
  const compose = (listen?: string) =>
    composeCluster(only(cfg, 'auth'), {
      dataDir,
      version: 'test',
      plugins: PLUGINS,
      auth: { rotationTickMs: 200, ...opts, ...(listen ? { listen } : {}) },
    });
  let composed: ComposedCluster | undefined = await compose();
  const admin = loadAdminIdentity(dataDir);
  const ca = admin.tls.ca;
  const stop = async () => {
    await composed?.close();
    composed = undefined;
  };
  const close = async () => {
    await stop();
    if (!given) rmSync(dataDir, { recursive: true, force: true });
  };
  const restart = async () => {
    await stop();
    composed = await compose(t.server.addr);
    t.server = composed.auth!;
  };
  const adminApi = new ApiClient([composed.auth!.addr], admin.tls);
  const t: TestAuth = {
    server: composed.auth!,
    stop,
    restart,
    dataDir,
    layout: composed.layout,
    admin: adminApi,
    client: new AuthClient(adminApi),
    anonymous: new ApiClient([composed.auth!.addr], { ca }),
    proxy: async () => clientAs(t.server, await localHostIdentity(t.server.service, 'proxy', 'proxy-1')),
    close,
    [Symbol.asyncDispose]: close,
  };
  return t;
}

/** A client's fresh key pair in the wire forms the login API takes. */
export function clientKeys() {
  const ssh = generateKeyPair('ed25519');
  const tls = generateKeyPair('p256');
  return { ssh, tls, tlsPublicKey: tls.publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** An agent to start with the cluster. */
export interface TestAgentSpec {
  name: string;
  labels?: Record<string, string>;
  /** Direct mode listens for the proxy instead of holding a tunnel. */
  direct?: boolean;
  commandLabels?: { name: string; command: string[]; periodMs: number }[];
  /** Extra agent options (upload retries, spool caps ...). */
  options?: Partial<AgentOptions>;
  /** `tp agent start --<plugin flag> VALUE` values, by flag name (resources this agent alone serves). */
  pluginFlags?: Record<string, string[]>;
  /** tp.yaml text this agent alone reads after the cluster's (a plugin section: `apps: {enabled: true, ...}`). */
  yaml?: string;
}

/** A whole cluster in this process: auth, proxy and agents on 127.0.0.1, joined with real tokens. */
export interface TestCluster extends AsyncDisposable {
  auth: TestAuth;
  /** The plugins every service of the cluster loaded. */
  plugins: PluginRegistry;
  proxy: ProxyServer;
  agents: Map<string, Agent>;
  /** Each agent's own directory (identity, event spool), by name. */
  agentDirs: Map<string, string>;
  /** Each agent's data dir layout (its recording spool ...), by name. */
  agentLayouts: Map<string, DataLayout>;
  /** The cluster's data dir layout (auth's, and the in-process node's when the config enables ssh). */
  layout: DataLayout;
  /** Starts (and joins, with a token) one more agent. */
  addAgent(spec: TestAgentSpec): Promise<Agent>;
  /** Stops an agent and starts it again on its data dir, with a fresh join token or without one. */
  restartAgent(name: string, o: { token: boolean }): Promise<Agent>;
  /** Stops the proxy (dropping every tunnel) and starts a new one on the same address. */
  restartProxy(): Promise<ProxyServer>;
  close(): Promise<void>;
}

/** Waits until `cond` holds, polling; throws naming `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/**
 * Starts the cluster `config` describes (default TEST_CONFIG) through the same composition as `tp start`: auth,
 * then its proxy, then the in-process node when the config enables ssh. Agents join through the proxy with a token,
 * as on a real device, each on a data dir of its own. Test knobs (short ticks and timeouts) are composition options.
 */
export async function startTestCluster(
  o: {
    agents?: TestAgentSpec[];
    auth?: Partial<AuthServerOptions>;
    proxy?: Partial<ProxyOptions>;
    /** tp.yaml text. */
    config?: string;
    /** The plugins to load (default plugins/index.ts): a test adds its fixture plugins. */
    plugins?: PluginLoader[];
  } = {},
): Promise<TestCluster> {
  const plugins = await loadRegistry(o.plugins ?? PLUGINS);
  const cfg = parseConfig(o.config ?? TEST_CONFIG, 'tp.yaml', plugins.sections());
  const auth = await startTestAuth(o.auth, o.config, plugins.sections());
  const agentKnobs: Partial<AgentOptions> = {
    heartbeatMs: 500,
    stateMs: 200,
    keepaliveMs: 1000,
    backoff: { baseMs: 50, maxMs: 500 },
  };
  const base = (): ComposeOptions => ({
    dataDir: auth.dataDir,
    version: 'test',
    localAuth: auth.server,
    auth: o.auth,
    plugins: o.plugins ?? PLUGINS,
  });
  const composeProxy = (listen?: string) =>
    composeCluster(only(cfg, 'proxy'), {
      ...base(),
      proxy: { tunnelKeepaliveMs: 1000, rotationPollMs: 200, ...o.proxy, ...(listen ? { listen } : {}) },
    });
  let proxyPart = await composeProxy();
  const node = cfg.ssh.enabled
    ? await composeCluster(only(cfg, 'ssh'), { ...base(), join: { proxy: proxyPart.proxy!.addr }, agent: agentKnobs })
    : undefined;
  const agents = new Map<string, Agent>();
  const parts = new Map<string, ComposedCluster>();
  const dirs: string[] = [];
  const agentDirs = new Map<string, string>();
  const agentLayouts = new Map<string, DataLayout>();
  const specs = new Map<string, TestAgentSpec>();
  const dataDirs = new Map<string, string>();
  const addAgent = async (spec: TestAgentSpec, again?: { token: boolean }) => {
    const token = again?.token === false ? undefined : await nodeToken();
    let dataDir = dataDirs.get(spec.name);
    if (!again || !dataDir) {
      dataDir = mkdtempSync(join(tmpdir(), 'tp-agent-'));
      dirs.push(dataDir);
      dataDirs.set(spec.name, dataDir);
    }
    specs.set(spec.name, spec);
    const own = spec.yaml ? parseConfig(`${o.config ?? TEST_CONFIG}${spec.yaml}`, 'tp.yaml', plugins.sections()) : cfg;
    const part = await composeCluster(
      {
        ...only(own, 'ssh'),
        ssh: {
          enabled: true,
          name: spec.name,
          labels: spec.labels ?? {},
          commands: [],
          listen: spec.direct ? '127.0.0.1:0' : undefined,
        },
      },
      {
        dataDir,
        version: 'test',
        join: { proxy: cluster.proxy.addr, token },
        plugins: o.plugins ?? PLUGINS,
        pluginFlags: spec.pluginFlags,
        agent: { ...agentKnobs, commandLabels: spec.commandLabels, ...spec.options },
      },
    );
    const agent = part.agent!;
    parts.set(spec.name, part);
    agents.set(spec.name, agent);
    agentDirs.set(spec.name, part.layout.agentDir);
    agentLayouts.set(spec.name, part.layout);
    if (!spec.direct) await waitFor(`tunnel of ${spec.name}`, () => cluster.proxy.tunnels.has(agent.hostId));
    return agent;
  };
  const nodeToken = async () => (await auth.client.createToken({ roles: ['node'], ttlMs: 600_000 })).token;
  const restartAgent = async (name: string, again: { token: boolean }) => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no agent ${name}`);
    await parts.get(name)?.close();
    return addAgent(spec, again);
  };
  const restartProxy = async () => {
    const addr = cluster.proxy.addr;
    await proxyPart.close();
    proxyPart = await composeProxy(addr);
    cluster.proxy = proxyPart.proxy!;
    return cluster.proxy;
  };
  const close = async () => {
    for (const p of parts.values()) await p.close();
    await node?.close();
    await proxyPart.close();
    await auth.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const cluster: TestCluster = {
    auth,
    plugins,
    proxy: proxyPart.proxy!,
    agents,
    agentDirs,
    agentLayouts,
    layout: auth.layout,
    addAgent,
    restartAgent,
    restartProxy,
    close,
    [Symbol.asyncDispose]: close,
  };
  if (node?.agent) agents.set(cfg.ssh.name ?? node.agent.hostId, node.agent);
  for (const spec of o.agents ?? []) await addAgent(spec);
  return cluster;
}

/** GETs a URL's body, or undefined while nothing listens there yet (for waits on forwarded ports). */
export async function fetchWhenUp(url: string): Promise<string | undefined> {
  try {
    return await (await fetch(url)).text();
  } catch (err) {
    if (err instanceof TypeError || (err as { code?: string }).code === 'ConnectionRefused') return undefined;
    throw err;
  }
}
