import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type AgentOptions, startAgent } from '../../core/agent/agent.ts';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { issueHostCerts } from '../../core/auth/issuer.ts';
import { localHostIdentity } from '../../core/auth/localIdentity.ts';
import { type AuthServer, type AuthServerOptions, startAuthServer } from '../../core/auth/server.ts';
import { generateKeyPair } from '../../core/crypto/keys.ts';
import type { HostIdentity } from '../../core/identity/hostIdentity.ts';
import { type ProxyOptions, type ProxyServer, startProxy } from '../../core/proxy/server.ts';

/** An auth server in this process with clients for each kind of caller. */
export interface TestAuth extends AsyncDisposable {
  server: AuthServer;
  /** Stops the auth server (storage stays), for outage tests. */
  stop(): Promise<void>;
  /** Starts it again on the same address and data dir. */
  restart(): Promise<void>;
  dataDir: string;
  admin: ApiClient;
  /** A client holding a proxy identity (may log users in). */
  proxy: () => Promise<ApiClient>;
  /** A client with no certificate. */
  anonymous: ApiClient;
  close(): Promise<void>;
}

/** Starts an auth server on 127.0.0.1:0 with SQLite in a temp dir (override anything through `opts`). */
export async function startTestAuth(opts: Partial<AuthServerOptions> = {}): Promise<TestAuth> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tp-auth-'));
  const options = {
    clusterName: 'test.cluster',
    storage: { type: 'sqlite' as const },
    rotationTickMs: 200,
    listen: '127.0.0.1:0',
    secondFactor: 'off' as const,
    ...opts,
    dataDir,
  };
  let server = await startAuthServer(options);
  let running = true;
  const admin = loadAdminIdentity(dataDir);
  const ca = admin.tls.ca;
  const stop = async () => {
    if (running) await server.close();
    running = false;
  };
  const close = async () => {
    await stop();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const restart = async () => {
    await stop();
    server = await startAuthServer({ ...options, listen: t.server.addr });
    t.server = server;
    running = true;
  };
  const t: TestAuth = {
    server,
    stop,
    restart,
    dataDir,
    admin: new ApiClient([server.addr], admin.tls),
    anonymous: new ApiClient([server.addr], { ca }),
    proxy: async () => {
      const key = generateKeyPair('p256');
      const svc = t.server.service;
      const out = await issueHostCerts({
        hostCa: svc.ca('host'),
        tlsCa: svc.ca('tls'),
        cluster: svc.cluster,
        role: 'proxy',
        hostName: 'proxy-1',
        tlsPublicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        ttlMs: 3_600_000,
        now: Date.now(),
      });
      return new ApiClient([server.addr], {
        ca,
        cert: out.tlsCert,
        key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      });
    },
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
}

/** A whole cluster in this process: auth, proxy and agents on 127.0.0.1, joined with real tokens. */
export interface TestCluster extends AsyncDisposable {
  auth: TestAuth;
  proxy: ProxyServer;
  agents: Map<string, Agent>;
  /** Each agent's data dir, by name. */
  agentDirs: Map<string, string>;
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

/** Starts auth + proxy (+ agents that join through the proxy with a token, as on a real device). */
export async function startTestCluster(
  o: { agents?: TestAgentSpec[]; auth?: Partial<AuthServerOptions>; proxy?: Partial<ProxyOptions> } = {},
): Promise<TestCluster> {
  const auth = await startTestAuth(o.auth);
  const svc = auth.server.service;
  const proxyIdentity = await localHostIdentity(svc, 'proxy', 'proxy', ['localhost', '127.0.0.1']);
  const proxyApi = new ApiClient([auth.server.addr], {
    ca: proxyIdentity.tlsCa.join(''),
    cert: proxyIdentity.tlsCert,
    key: proxyIdentity.tlsKey,
  });
  let currentProxyIdentity = proxyIdentity;
  const proxyOptions = (listen: string) => ({
    listen,
    sshListen: '127.0.0.1:0',
    identity: currentProxyIdentity,
    auth: proxyApi,
    version: 'test',
    tunnelKeepaliveMs: 1000,
    rotationPollMs: 200,
    onIdentity: (id: HostIdentity) => {
      currentProxyIdentity = id;
    },
    ...o.proxy,
  });
  const firstProxy = await startProxy(proxyOptions('127.0.0.1:0'));
  const agents = new Map<string, Agent>();
  const dirs: string[] = [];
  const agentDirs = new Map<string, string>();
  const specs = new Map<string, TestAgentSpec>();
  const addAgent = async (spec: TestAgentSpec, again?: { token: boolean }) => {
    const token = again?.token === false ? undefined : await nodeToken();
    let dataDir = agentDirs.get(spec.name);
    if (!again || !dataDir) {
      dataDir = mkdtempSync(join(tmpdir(), 'tp-agent-'));
      dirs.push(dataDir);
      agentDirs.set(spec.name, dataDir);
    }
    specs.set(spec.name, spec);
    const agent = await startAgent({
      dataDir,
      recordingSpoolDir: join(dataDir, 'spool', 'recordings'),
      proxy: cluster.proxy.addr,
      token,
      name: spec.name,
      labels: spec.labels,
      commandLabels: spec.commandLabels,
      direct: spec.direct ? { listen: '127.0.0.1:0' } : undefined,
      heartbeatMs: 500,
      stateMs: 200,
      keepaliveMs: 1000,
      backoff: { baseMs: 50, maxMs: 500 },
      ...spec.options,
    });
    agents.set(spec.name, agent);
    if (!spec.direct) await waitFor(`tunnel of ${spec.name}`, () => cluster.proxy.tunnels.has(agent.hostId));
    return agent;
  };
  const nodeToken = async () =>
    (await auth.admin.post<{ token: string }>('/v1/tokens', { roles: ['node'], ttlMs: 600_000 })).token;
  const restartAgent = async (name: string, o: { token: boolean }) => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no agent ${name}`);
    await agents.get(name)?.close();
    return addAgent(spec, o);
  };
  const restartProxy = async () => {
    const addr = cluster.proxy.addr;
    await cluster.proxy.close();
    cluster.proxy = await startProxy(proxyOptions(addr));
    return cluster.proxy;
  };
  const close = async () => {
    for (const a of agents.values()) await a.close();
    await cluster.proxy.close();
    await auth.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const cluster: TestCluster = {
    auth,
    proxy: firstProxy,
    agents,
    agentDirs,
    addAgent,
    restartAgent,
    restartProxy,
    close,
    [Symbol.asyncDispose]: close,
  };
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
