// The Kubernetes plugin: stock kubectl reaches a cluster through the proxy's TLS port, named by SNI
// (`<cluster>.kube.<tp cluster>`; kubectl offers only h2/http1.1 as ALPN, so no ALPN id is its own), and a tp agent
// beside the cluster forwards each request with the impersonation the user's roles grant (issue 19).
import * as v from 'valibot';
import { definePlugin } from '../../core/plugin/define.ts';
import { kubePolicy } from '../../core/rbac/kube.ts';
import { acceptKube, ownsServerName, refuseKube } from './proxy.ts';

// One DNS label: kubectl names the cluster as the first label of its TLS server name (`<name>.kube.<tp cluster>`).
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** One `kube.clusters` entry: `{name, kubeconfig, context?, labels?}`. */
export const KubeClusterSchema = v.strictObject({
  name: v.pipe(
    v.string(),
    v.regex(NAME, 'kube cluster names are lowercase letters, digits, "-" or "_" (no "."): one DNS label'),
  ),
  /** The kubeconfig file holding the agent's credentials for the API server (certificate or token). */
  kubeconfig: v.pipe(v.string(), v.minLength(1)),
  /** The kubeconfig context to use; its current context when absent. */
  context: v.optional(v.pipe(v.string(), v.minLength(1))),
  labels: v.optional(v.record(v.string(), v.string()), {}),
});

export type KubeCluster = v.InferOutput<typeof KubeClusterSchema>;

/** `--kube NAME=/path/to/kubeconfig` as a raw `kube.clusters` entry. */
export function parseKubeFlag(value: string): unknown {
  const m = /^([^=]+)=(.+)$/.exec(value);
  return m ? { name: m[1], kubeconfig: m[2] } : undefined;
}

export default definePlugin<KubeCluster>({
  name: 'kube',
  kind: 'kube',
  alpn: [],
  config: KubeClusterSchema,
  section: { key: 'kube', list: 'clusters' },
  policy: kubePolicy,
  flag: {
    name: 'kube',
    description: 'serve a Kubernetes cluster, NAME=/path/to/kubeconfig (repeatable)',
    parse: parseKubeFlag,
  },
  agent: async (ctx, entries) => (await import('./agent.ts')).startKubeAgent(ctx, entries),
  sni: ownsServerName,
  proxy: { accept: acceptKube, refuse: refuseKube },
});
