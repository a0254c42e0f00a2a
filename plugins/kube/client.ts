// The kube plugin's client side: the clusters a user's roles reach, as the proxy lists them, and the kubeconfig
// entries that point stock kubectl at one of them through the proxy (`tp kube login`), with tp itself as kubectl's
// exec credential plugin (`tp kube credentials`).
import * as v from 'valibot';
import type { ApiClient } from '../../core/api/client.ts';
import { type ListedResource, ListedResourceSchema } from '../../core/api/resourceSchemas.ts';
import { proxyApi } from '../../core/client/login.ts';
import { type Profile, profileTexts } from '../../core/client/profile.ts';
import { NotFound } from '../../core/errors.ts';
import { EXEC_API_VERSION } from './credential.ts';
import type { KubeLoginEntry } from './kubeconfigEntries.ts';
import { kubeServerName } from './sni.ts';

/** The Kubernetes clusters the profile's roles let it see, by name. */
export async function listKubeClusters(p: Profile): Promise<ListedResource[]> {
  const t = profileTexts(p);
  return listKubeClustersVia(proxyApi(p.proxy, {}, { cert: t.tlsCert, key: t.tlsKey }));
}

/** The Kubernetes clusters the identity `api` presents may see (a bot's, before any profile exists), by name. */
export async function listKubeClustersVia(api: ApiClient): Promise<ListedResource[]> {
  const rows = await api.send(v.array(ListedResourceSchema), 'GET', '/webapi/resources?kind=kube');
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** The cluster named `name`; NotFound lists the ones the roles reach. */
export async function findKubeCluster(p: Profile, name: string): Promise<ListedResource> {
  const all = await listKubeClusters(p);
  const found = all.find((c) => c.name === name);
  if (found) return found;
  const known = all.length ? `; your roles reach: ${all.map((c) => c.name).join(', ')}` : '';
  throw new NotFound(`no Kubernetes cluster "${name}" you may reach${known} (tp kube ls lists them)`, { name });
}

/** The name tp gives the cluster, user and context of a kube cluster in a kubeconfig: `<tp cluster>-<name>`. */
export function kubeContextName(tpCluster: string, kubeCluster: string): string {
  return `${tpCluster}-${kubeCluster}`;
}

/** How kubectl starts tp for credentials: this tp's command line, and where its profile lives. */
export interface CredentialCommand {
  /** The program and first arguments that run this tp (an absolute path: kubectl runs it from anywhere). */
  tp: string[];
  /** An identity file to use instead of the login profile (`tp -i FILE`). */
  identityFile?: string;
  /** TP_HOME, when the profile is not in the default place. */
  tpHome?: string;
}

/** The tp cluster a kubeconfig entry reaches: its proxy, its name and its TLS CAs (PEM bundle). */
export interface KubeTarget {
  proxy: string;
  cluster: string;
  tlsCas: string;
}

/** The target of a login profile (or an identity file read as one). */
export function profileTarget(p: Profile): KubeTarget {
  return { proxy: p.proxy, cluster: p.cluster, tlsCas: profileTexts(p).cas };
}

/**
 * The kubeconfig entries for `kubeCluster` behind `t`'s proxy: the proxy's address with the cluster's TLS CA and the
 * cluster's TLS server name, and an exec credential plugin running `tp kube credentials`.
 */
export function kubeLoginEntry(t: KubeTarget, kubeCluster: string, how: CredentialCommand): KubeLoginEntry {
  const [command, ...pre] = how.tp;
  const args = [
    ...pre,
    ...(how.identityFile ? ['-i', how.identityFile] : []),
    'kube',
    'credentials',
    '--cluster',
    kubeCluster,
    '--proxy',
    t.proxy,
  ];
  return {
    name: kubeContextName(t.cluster, kubeCluster),
    cluster: {
      server: `https://${t.proxy}`,
      'certificate-authority-data': Buffer.from(t.tlsCas).toString('base64'),
      'tls-server-name': kubeServerName(kubeCluster, t.cluster),
    },
    user: {
      exec: {
        apiVersion: EXEC_API_VERSION,
        command,
        args,
        ...(how.tpHome && { env: [{ name: 'TP_HOME', value: how.tpHome }] }),
        interactiveMode: 'IfAvailable',
        provideClusterInfo: false,
      },
    },
    mark: { proxy: t.proxy, tp_cluster: t.cluster, kube_cluster: kubeCluster },
  };
}
