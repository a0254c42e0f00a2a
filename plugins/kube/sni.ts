// The proxy side's one job for kube: name the cluster from the TLS server name kubectl sends (`tls-server-name` in
// the kubeconfig `tp kube login` writes), `<cluster>.kube.<anything>`.
import { BadParameter } from '../../core/errors.ts';
import type { ProxyRoute } from '../../core/plugin/types.ts';

const SNI = /^([a-z0-9][a-z0-9_-]{0,62})\.kube\./;

/** True when a TLS server name is a kube one (what the proxy's router checks before calling `accept`). */
export function isKubeServerName(name: string | false | null | undefined): boolean {
  return typeof name === 'string' && SNI.test(name.toLowerCase());
}

/** The route a kube server name asks for; BadParameter for a name that is not `<cluster>.kube.<...>`. */
export function routeFromSni(name: string | false | null | undefined): ProxyRoute {
  const m = typeof name === 'string' ? SNI.exec(name.toLowerCase()) : null;
  if (!m)
    throw new BadParameter(`TLS server name "${name || ''}" names no kube cluster (expected <cluster>.kube.<...>)`);
  return { target: m[1]!, route: {} };
}

/** The TLS server name kubectl is told to send for `cluster` behind the tp cluster `tpCluster`. */
export function kubeServerName(cluster: string, tpCluster: string): string {
  return `${cluster}.kube.${tpCluster}`;
}
