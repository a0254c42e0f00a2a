// The kubeconfig a machine identity keeps beside its identity file (`tp bot start --kube`, `tp ci exec`): one
// context per cluster, each asking `tp -i DIR/identity kube credentials` for the certificate, so kubectl always gets
// the one the bot renewed last (the file itself changes only when the cluster's CAs do).
import { ApiClient } from '../../core/api/client.ts';
import { pemBundle } from '../../core/crypto/pem.ts';
import { kubeLoginEntry, listKubeClustersVia } from './client.ts';
import { standaloneKubeconfig } from './kubeconfigEntries.ts';

/** What of a bot's identity its kubeconfig needs. */
export interface BotKubeIdentity {
  proxy: string;
  cluster: string;
  tlsCa: string[];
  tlsCert: string;
  tlsKey: string;
}

/**
 * The text of DIR/kubeconfig for `clusters` (the first one's context current): each user entry runs `tp` (the
 * command line `tp`) with the identity file `identityFile` (an absolute path).
 */
export function botKubeconfig(id: BotKubeIdentity, clusters: string[], identityFile: string, tp: string[]): string {
  const target = { proxy: id.proxy, cluster: id.cluster, tlsCas: pemBundle(id.tlsCa) };
  return standaloneKubeconfig(clusters.map((c) => kubeLoginEntry(target, c, { tp, identityFile })));
}

/** The names of the Kubernetes clusters the bot's roles reach, asked of its proxy with its own certificate. */
export async function botKubeClusters(id: BotKubeIdentity): Promise<string[]> {
  const api = new ApiClient([id.proxy], { ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey, serverRole: 'proxy' });
  return (await listKubeClustersVia(api)).map((c) => c.name);
}
