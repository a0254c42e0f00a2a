// The kube plugin's agent side: heartbeats each configured cluster, checks at start that it may impersonate there,
// and serves each stream the proxy sends (one kubectl connection) through the relay, running every request as the
// Kubernetes user and groups the user's roles grant and only on the objects their kubernetes_resources allow, each one
// audited as `kube.request` (exec and port-forward also as `exec` / `port_forward`, an interactive exec recorded).
import type { Duplex } from 'node:stream';
import { describe } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, ResourceSpec } from '../../core/plugin/types.ts';
import { resolveRoles } from '../../core/rbac/index.ts';
import { checkKubeResourceAccess, kubeImpersonation } from '../../core/rbac/kube.ts';
import type { KubeCluster } from './index.ts';
import { type ApiServerTarget, loadKubeconfig } from './kubeconfig.ts';
import { type RequestRecord, relay } from './relay.ts';
import { requestInfo } from './requestTarget.ts';
import { refusedUpgradeEvents, watchUpgrade } from './upgradeAudit.ts';
import { agentAuthHeaders, canImpersonate, dialApiServer } from './upstream.ts';

interface Target {
  cluster: KubeCluster;
  api: ApiServerTarget;
}

/** Warns, once per cluster, when the API server says the agent may not impersonate (every request would fail). */
async function checkImpersonation(t: Target): Promise<void> {
  const where = { kube_cluster: t.cluster.name, kubeconfig: t.cluster.kubeconfig };
  try {
    const [users, groups] = await Promise.all([canImpersonate(t.api, 'users'), canImpersonate(t.api, 'groups')]);
    if (!users || !groups)
      log.warn(
        `kube cluster "${t.cluster.name}": the agent's credentials may not impersonate ${!users ? 'users' : 'groups'}; every request through tp will be refused by the API server until a ClusterRole grants "impersonate" on users and groups`,
        where,
      );
  } catch (err) {
    log.warn(`kube cluster "${t.cluster.name}": could not check impersonation rights: ${describe(err)}`, where);
  }
}

/**
 * Starts the agent side for `entries`. Throws BadParameter at start-up for an unreadable or unsupported kubeconfig,
 * so a misconfigured agent says so before serving; the impersonation check only warns (the server may come later).
 */
export async function startKubeAgent(ctx: AgentPluginContext, entries: KubeCluster[]): Promise<AgentPlugin> {
  const targets = new Map<string, Target>(
    entries.map((c) => [c.name, { cluster: c, api: loadKubeconfig(c.kubeconfig, c.context) }]),
  );
  await Promise.all([...targets.values()].map(checkImpersonation));
  const live = new Set<Duplex>();

  const serve = async (stream: Duplex, s: PluginSession) => {
    const t = targets.get(s.resource);
    const user = s.user;
    if (!t || !user) {
      stream.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    // The host resumed the stream: hold kubectl's first request until the relay reads it (the dial comes first).
    stream.pause();
    live.add(stream);
    const fields = {
      user: user.name,
      session_id: s.id,
      'addr.remote': s.client,
      server_id: ctx.hostId,
      server_name: ctx.nodeName,
      kube_cluster: t.cluster.name,
    };
    try {
      const upstream = await dialApiServer(t.api);
      // A lock, the certificate's expiry or the agent's stop ends the connection at once, upgraded ones included
      // (the relay first tells an upgraded client why, where its protocol can carry it; the stream ends soon after).
      const stop = () => {
        upstream.destroy();
        setTimeout(() => stream.destroy(), 800).unref();
      };
      if (s.signal.aborted) stop();
      s.signal.addEventListener('abort', stop, { once: true });
      await relay(stream, upstream, {
        signal: s.signal,
        agentHeaders: agentAuthHeaders(t.api),
        impersonate: (asked, req) => {
          // Roles are read per request: a role change applies to the next request on a kept-alive connection.
          const all = ctx.state.roles();
          const roles = resolveRoles(user.roles, (n) => all.find((r) => r.metadata.name === n));
          const as = kubeImpersonation(roles, user.traits, t.cluster.labels, user.name, asked);
          const target = requestInfo(req.method, req.path, req.query).target;
          if (target) checkKubeResourceAccess(roles, t.cluster.labels, target);
          return as;
        },
        onRequest: (r: RequestRecord) => {
          const refused = r.upgrade && r.status !== 101 ? refusedUpgradeEvents(fields, r) : [];
          ctx.emit([requestEvent(fields, r), ...refused]);
        },
        onUpgrade: (r, answer, upgrade) => watchUpgrade(ctx, fields, r, answer, upgrade),
      });
    } catch (err) {
      log.info('kube stream ended with an error', { ...fields, error: describe(err) });
    } finally {
      live.delete(stream);
    }
  };

  return {
    resources: (): ResourceSpec[] =>
      [...targets.values()].map(({ cluster }) => ({ name: cluster.name, labels: cluster.labels, spec: {} })),
    serve,
    close: async () => {
      for (const stream of live) stream.destroy();
    },
  };
}

function requestEvent(fields: Record<string, unknown>, r: RequestRecord) {
  const { path, query } = r;
  const info = requestInfo(r.method, path, query);
  return {
    ...fields,
    type: 'kube.request' as const,
    success: r.error === undefined,
    ...(r.error ? { error: r.error } : {}),
    method: r.method,
    path,
    verb: info.verb,
    namespace: info.target?.namespace || undefined,
    upgrade: r.upgrade || undefined,
    status: r.status,
    kubernetes_user: r.as?.user,
    kubernetes_groups: r.as?.groups,
  };
}
