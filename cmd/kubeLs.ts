// `tp kube ls`: the Kubernetes clusters the user's roles reach, with the Kubernetes users granted there and the
// kubeconfig context `tp kube login` wrote for each.
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter, describe } from '../core/errors.ts';
import { kubeContextName, listKubeClusters } from '../plugins/kube/client.ts';
import { currentContext, type TpMark, tpLogins } from '../plugins/kube/kubeconfigEntries.ts';
import { kubeconfigPath, readKubeconfig } from '../plugins/kube/kubeconfigFile.ts';
import { formatOf, print, table } from './lib/output.ts';

/** The tp contexts of the user's kubeconfig and its current one; a kubeconfig tp cannot read only loses the column. */
function kubeconfigState(): { logins: Map<string, TpMark>; current: string | undefined } {
  const path = kubeconfigPath();
  try {
    const text = readKubeconfig(path);
    return { logins: tpLogins(text, `kubeconfig ${path}`), current: currentContext(text, `kubeconfig ${path}`) };
  } catch (err) {
    if (!(err instanceof BadParameter)) throw err;
    process.stderr.write(`warning: ${describe(err)}; contexts not shown\n`);
    return { logins: new Map(), current: undefined };
  }
}

/** Lists the clusters as `tp kube ls [key=value...] [--format F]` prints them. */
export async function kubeLs(args: { _?: string[]; format?: string }): Promise<void> {
  const format = formatOf(args.format);
  const filters = (args._ ?? []).map((f) => {
    const i = f.indexOf('=');
    if (i < 1) throw new BadParameter(`label filter "${f}" must look like key=value`);
    return [f.slice(0, i), f.slice(i + 1)] as const;
  });
  const p = requireProfile();
  const clusters = (await listKubeClusters(p)).filter((c) => filters.every(([k, v]) => c.labels[k] === v));
  const { logins, current } = kubeconfigState();
  const rows = clusters.map((c) => {
    const name = kubeContextName(p.cluster, c.name);
    const context = logins.get(name)?.proxy === p.proxy ? name : null;
    return {
      name: c.name,
      labels: c.labels,
      online: c.online,
      kubernetes_users: c.principals ?? null,
      context,
      current: context !== null && context === current,
    };
  });
  await print(format, 'kube ls', rows, () =>
    table(
      rows.map((r) => ({
        ...r,
        labels: Object.entries(r.labels).map(([k, v]) => `${k}=${v}`),
        kubernetes_users: r.kubernetes_users ?? '',
        status: r.online ? 'online' : 'offline',
        context: r.context === null ? '' : `${r.context}${r.current ? ' *' : ''}`,
      })),
      ['name', 'labels', 'kubernetes_users', 'status', 'context'],
      'no Kubernetes clusters you may reach',
    ),
  );
}
