// `tp kube login` and `tp kube logout`: the kubeconfig entries that point stock kubectl at a cluster through tp.
import { resolve } from 'node:path';
import { loadProfile, type Profile, requireProfile } from '../core/client/profile.ts';
import { NotFound } from '../core/errors.ts';
import { type CredentialCommand, findKubeCluster, kubeLoginEntry, profileTarget } from '../plugins/kube/client.ts';
import { addLogin, removeLogins } from '../plugins/kube/kubeconfigEntries.ts';
import { editKubeconfig, kubeconfigPath } from '../plugins/kube/kubeconfigFile.ts';
import { selfCommand } from './lib/self.ts';

/** How the kubeconfig starts this tp again for credentials, with the same profile (identity file, TP_HOME). */
function credentialCommand(p: Profile): CredentialCommand {
  return {
    tp: selfCommand(),
    identityFile: p.identityFile ? resolve(p.identityFile) : undefined,
    tpHome: process.env.TP_HOME ? resolve(process.env.TP_HOME) : undefined,
  };
}

/** Adds the entries for cluster `name` to the user's kubeconfig and makes its context current. */
export async function kubeLogin(name: string): Promise<void> {
  const p = requireProfile();
  const cluster = await findKubeCluster(p, name);
  const entry = kubeLoginEntry(profileTarget(p), cluster.name, credentialCommand(p));
  const path = kubeconfigPath();
  await editKubeconfig(path, (text) => addLogin(text, entry, `kubeconfig ${path}`));
  process.stdout.write(
    `Logged in to Kubernetes cluster ${cluster.name}${cluster.online ? '' : ' (offline now)'}: context ${entry.name} is current in ${path}.\n` +
      'Try: kubectl get pods    Back out: tp kube logout ' +
      `${cluster.name}\n`,
  );
}

/** Removes the entries `tp kube login` wrote: for cluster `name`, or for every cluster of the profile's tp cluster. */
export async function kubeLogout(name: string | undefined): Promise<void> {
  const tpCluster = loadProfile()?.cluster;
  const path = kubeconfigPath();
  let removed: string[] = [];
  await editKubeconfig(path, (text) => {
    const r = removeLogins(text, { tpCluster, kubeCluster: name }, `kubeconfig ${path}`);
    removed = r.removed;
    return r.removed.length > 0 ? r.text : undefined;
  });
  if (removed.length === 0) {
    if (name) throw new NotFound(`no tp context for Kubernetes cluster "${name}" in ${path}`, { name, path });
    process.stdout.write(`no tp contexts in ${path}\n`);
    return;
  }
  process.stdout.write(`Removed ${removed.join(', ')} from ${path}\n`);
}
