// `tp kube`: Kubernetes clusters through the proxy with stock kubectl. Each subcommand's body loads only when it
// runs, and nothing here imports more than citty: kubectl starts `tp kube credentials` once per command.
import { defineCommand } from 'citty';
import { formatArg } from './lib/output.ts';

const ls = defineCommand({
  meta: {
    name: 'ls',
    description:
      'List the Kubernetes clusters your roles let you reach, with the Kubernetes users they allow\n' +
      'CONTEXT names the kubeconfig context `tp kube login` wrote (current: marked *).\n' +
      'Examples:\n  tp kube ls\n  tp kube ls env=dev --format json',
  },
  args: {
    labels: {
      type: 'positional',
      required: false,
      valueHint: 'key=value...',
      description: 'Label filters k=v (all must match)',
    },
    ...formatArg,
  },
  run: async ({ args }) => (await import('./kubeLs.ts')).kubeLs(args),
});

const login = defineCommand({
  meta: {
    name: 'login',
    description:
      'Point kubectl at a cluster through tp\n' +
      'Adds a cluster, a user and a context <tp cluster>-NAME to your kubeconfig ($KUBECONFIG, first path, else\n' +
      '~/.kube/config) and makes the context current; other entries stay as they are. kubectl gets its certificate from `tp kube credentials` (your tp login; nothing is stored).\n' +
      'Examples:\n  tp kube login k1\n  kubectl get pods',
  },
  args: { name: { type: 'positional', required: true, description: 'The cluster, as tp kube ls names it' } },
  run: async ({ args }) => (await import('./kubeLogin.ts')).kubeLogin(args.name),
});

const logout = defineCommand({
  meta: {
    name: 'logout',
    description:
      'Remove what `tp kube login` added to your kubeconfig\n' +
      'The cluster, user and context of NAME, or of every cluster of your tp cluster without NAME. When the context was current, the one current before it is again.\n' +
      'Examples:\n  tp kube logout k1\n  tp kube logout',
  },
  args: { name: { type: 'positional', required: false, description: 'The cluster (default: all of them)' } },
  run: async ({ args }) => (await import('./kubeLogin.ts')).kubeLogout(args.name),
});

const credentials = defineCommand({
  meta: {
    name: 'credentials',
    description:
      "kubectl's exec credential plugin: your tp certificate as an ExecCredential\n" +
      'The kubeconfig `tp kube login` writes runs it. It answers from your profile, without touching the network. When your tp login expired it\n' +
      'says so on stderr and fails, or logs in again when kubectl says you are at a terminal.',
  },
  args: {
    cluster: { type: 'string', required: true, description: 'The Kubernetes cluster the credential is for' },
    proxy: { type: 'string', description: 'The proxy the kubeconfig entry points at (checked against your profile)' },
  },
  run: async ({ args }) => (await import('./kubeCredentials.ts')).kubeCredentials(args),
});

export default defineCommand({
  meta: { name: 'kube', description: 'Kubernetes clusters: list them, point kubectl at one through tp' },
  subCommands: { ls, login, logout, credentials },
});
