// The kube plugin's agent side: heartbeats each configured cluster, checks at start that it may impersonate there,
// and serves each stream the proxy sends (one kubectl connection) through the relay, running every request as the
// Kubernetes user and groups the user's roles grant, each one audited as `kube.request`.
import type { Duplex } from 'node:stream';
import { describe } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, ResourceSpec } from '../../core/plugin/types.ts';
import { resolveRoles } from '../../core/rbac/index.ts';
import { kubeImpersonation } from '../../core/rbac/kube.ts';
import type { KubeCluster } from './index.ts';
import { type ApiServerTarget, loadKubeconfig } from './kubeconfig.ts';
import { type RequestRecord, relay } from './relay.ts';
import { agentAuthHeaders, canImpersonate, dialApiServer } from './upstream.ts';

interface Target {
  cluster: KubeCluster;
  api: ApiServerTarget;
}

const NAMESPACE = /^\/api(?:s\/[^/]+)?\/[^/]+\/namespaces\/([^/]+)/;

/** The Kubernetes verb of a request (get, list, watch, create ...), as the API server's authorizer names it. */
export function kubeVerb(method: string, path: string, query: string): string {
  const named = /\/namespaces\/[^/]+\/[^/]+\/[^/]+|^\/api(?:s\/[^/]+)?\/[^/]+\/(?!namespaces\/)[^/]+\/[^/]+/.test(path);
  switch (method) {
    case 'GET':
      if (/(^|&)watch=(true|1)/.test(query)) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
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
      // A lock, the certificate's expiry or the agent's stop ends the connection at once, upgraded ones included.
      const stop = () => {
        upstream.destroy();
        stream.destroy();
      };
      if (s.signal.aborted) stop();
      s.signal.addEventListener('abort', stop, { once: true });
      await relay(stream, upstream, {
        signal: s.signal,
        agentHeaders: agentAuthHeaders(t.api),
        impersonate: (asked) => {
          // Roles are read per request: a role change applies to the next request on a kept-alive connection.
          const all = ctx.state.roles();
          const roles = resolveRoles(user.roles, (n) => all.find((r) => r.metadata.name === n));
          return kubeImpersonation(roles, user.traits, t.cluster.labels, user.name, asked);
        },
        onRequest: (r: RequestRecord) => ctx.emit([requestEvent(fields, r)]),
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
  return {
    ...fields,
    type: 'kube.request' as const,
    success: r.error === undefined,
    ...(r.error ? { error: r.error } : {}),
    method: r.method,
    path,
    verb: kubeVerb(r.method, path, query),
    namespace: NAMESPACE.exec(path)?.[1],
    upgrade: r.upgrade || undefined,
    status: r.status,
    kubernetes_user: r.as?.user,
    kubernetes_groups: r.as?.groups,
  };
}
