// The kube agent plugin behind a local TLS listener (each connection one plugin stream, as the proxy would hand it),
// in front of the stand-in API server, with kubectl homes pointed at the listener.
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import type { Role } from '../../core/rbac/index.ts';
import { startKubeAgent } from '../../plugins/kube/agent.ts';
import type { KubeStandIn } from '../fixtures/kubeApiServer.ts';
import type { DbTestPki } from './dbPki.ts';
import { type KubectlHome, kubectlHome } from './kubectl.ts';
import { startKubeStandInSetup } from './kubeStandInSetup.ts';

/** A role granting every kube cluster as the user's `kube_users` / `kube_groups` traits. */
export const KUBE_ROLE: Role = {
  kind: 'role',
  version: 'v1',
  metadata: { name: 'kube-access' },
  spec: {
    options: {},
    allow: {
      kubernetes_labels: { '*': '*' },
      kubernetes_users: ['{{internal.kube_users}}'],
      kubernetes_groups: ['{{internal.kube_groups}}'],
    },
    deny: {},
  },
};

/** What a kube agent test drives. */
export interface KubeAgentHarness {
  api: KubeStandIn;
  pki: DbTestPki;
  agent: AgentPlugin;
  events: AuditInput[];
  /** The agent's recording spool (sessions are recorded there with `recording: true`). */
  spoolDir: string;
  /** The agent listener's https URL. */
  url: string;
  /** The verified user every stream carries (tests may change it between runs). */
  user: VerifiedUser;
  /** Aborts every stream open now (as a lock landing on the user does). */
  abortAll(reason?: Error): void;
  /** A kubectl home pointed at the agent's listener, with a client token of its own (which tp must drop). */
  home(): KubectlHome;
  close(): Promise<void>;
}

/** Starts the stand-in (minor `minor`, who may impersonate), the agent plugin for cluster `k1` and a TLS listener handing it streams. */
export async function startKubeAgentHarness(
  opts: { roles?: Role[]; minor?: number; impersonators?: string[]; recording?: boolean } = {},
): Promise<KubeAgentHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-kube-agent-'));
  const { api, pki, kubeconfig } = await startKubeStandInSetup(dir, {
    minor: opts.minor,
    impersonators: opts.impersonators,
  });
  const events: AuditInput[] = [];
  const roles = opts.roles ?? [KUBE_ROLE];
  const stub = {
    labels: () => ({}),
    identity: () => {
      throw new Error('no host identity in this test');
    },
    onIdentity: () => undefined,
    recording: { dir: join(dir, 'spool'), mode: () => (opts.recording ? 'node' : 'off'), onPart: () => undefined },
  };
  const ctx: AgentPluginContext = {
    ...stub,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a02',
    nodeName: 'agent-k',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { roles: () => roles, locks: () => [], userCas: () => [], onChange: () => undefined },
    call: async () => {
      throw new Error('the kube agent calls auth for nothing');
    },
    dataDir: dir,
  };
  const agent = await startKubeAgent(ctx, [{ name: 'k1', kubeconfig, context: 'admin', labels: { env: 'dev' } }]);
  const h: KubeAgentHarness = {
    url: '',
    spoolDir: join(dir, 'spool'),
    api,
    pki,
    agent,
    events,
    user: {
      name: 'alice@example.com',
      roles: [KUBE_ROLE.metadata.name],
      traits: { kube_users: ['alice'], kube_groups: ['devs', 'viewers'] },
      expires: Date.now() + 3_600_000,
      certDer: 'MIIB',
    },
    abortAll: (reason) => {
      for (const a of aborts) a.abort(reason);
    },
    home: () => kubectlHome({ server: url, caPem: pki.serverCaPem, token: 'client-own-token' }),
    close: async () => {
      await agent.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await api.close();
    },
  };
  const sockets = new Set<TLSSocket>();
  const aborts = new Set<AbortController>();
  const server = createServer({ cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['http/1.1'] }, (socket) => {
    sockets.add(socket);
    const abort = new AbortController();
    aborts.add(abort);
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user: h.user,
      resource: 'k1',
      route: {},
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      signal: abort.signal,
    };
    agent.serve(socket, session).finally(() => {
      socket.destroy();
      sockets.delete(socket);
      aborts.delete(abort);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.url = url;
  return h;
}
