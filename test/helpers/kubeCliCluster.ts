// A cluster as an operator sets one up for Kubernetes, all through the real CLI: `tp start` from a tp.yaml, a role
// and a user (alice, logged in with `tp login` into her own TP_HOME), and `tp agent start` from an agent tp.yaml whose
// `kube` section names clusters served by the stand-in API server (which also trusts the cluster's TLS CA, so a test
// can point kubectl straight at it with tp's credential plugin).
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { KubeStandIn } from '../fixtures/kubeApiServer.ts';
import { type CliResult, run } from './cli.ts';
import { startKubeStandInSetup } from './kubeStandInSetup.ts';
import { startOperatorCluster } from './operatorCluster.ts';

export { PASSWORD } from './operatorCluster.ts';

/** The folder of the kubectl dispatcher, where `kubectl.1.<minor>` lie. */
export const KUBECTL_DIR = dirname(realpathSync(Bun.which('kubectl') ?? '/usr/bin/kubectl'));

/** Runs stock kubectl (`binary`: the dispatcher, or `kubectl.1.29` ...) in `env`, its cache in `env.HOME`. */
export function kubectlIn(env: Record<string, string>, args: string[], binary = 'kubectl'): Promise<CliResult> {
  const program = binary === 'kubectl' ? binary : join(KUBECTL_DIR, binary);
  return run([program, '--cache-dir', join(env.HOME!, 'kcache'), ...args], { env });
}

export interface KubeCliCluster {
  proxy: string;
  dataDir: string;
  /** The tp cluster's name. */
  cluster: string;
  /** The stand-in API server every kube cluster of the agent forwards to. */
  api: KubeStandIn;
  /** PEM of the stand-in's server CA. */
  apiCaPem: string;
  /** Runs an admin command against the auth data dir. */
  admin(args: string[], stdin?: string): Promise<string>;
  /** A fresh shell of alice's: her own HOME (kubeconfig, kubectl cache) and TP_HOME, logged in (`--ttl ttl`). */
  shell(ttl?: string): Promise<Record<string, string>>;
  /** Logs alice in (again) in the shell `env`. */
  login(env: Record<string, string>, ttl?: string): Promise<void>;
  /**
   * A fresh home whose kubeconfig reaches the stand-in directly with the user entry named `context` of the kubeconfig
   * at `from` (its exec plugin and environment as they are): kubectl runs `tp kube credentials` as through the proxy.
   */
  straightToStandIn(from: string, context: string): Record<string, string>;
  /** Starts an agent serving kube clusters `names` (labels env=dev) in front of the stand-in. */
  startAgent(names: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the cluster `kube.test`, the stand-in, and alice holding `roleYaml`. */
export async function startKubeCliCluster(dir: string, roleYaml: string): Promise<KubeCliCluster> {
  const c = await startOperatorCluster(dir, 'kube.test', roleYaml);
  try {
    const tlsCa = await c.admin(['ca', 'export', '--type', 'tls']);
    const standIn = await startKubeStandInSetup(dir, { extraClientCa: tlsCa });
    const { api, pki, kubeconfig: agentKubeconfig } = standIn;
    c.onClose(() => api.close());
    return {
      proxy: c.proxy,
      dataDir: c.dataDir,
      cluster: 'kube.test',
      api,
      apiCaPem: pki.serverCaPem,
      admin: c.admin,
      login: c.login,
      async shell(ttl) {
        const home = mkdtempSync(join(dir, 'home-'));
        mkdirSync(join(home, '.kube'));
        const env = { HOME: home, TP_HOME: join(home, '.tp'), KUBECONFIG: join(home, '.kube', 'config') };
        await c.login(env, ttl);
        return env;
      },
      straightToStandIn(from, context) {
        const doc = parse(readFileSync(from, 'utf8')) as { users: { name: string }[] };
        const user = doc.users.find((u) => u.name === context);
        if (!user) throw new Error(`no user ${context} in ${from}`);
        const home = mkdtempSync(join(dir, 'direct-'));
        const kubeconfig = join(home, 'config');
        const direct = { server: api.url, 'certificate-authority-data': btoa(pki.serverCaPem) };
        writeFileSync(
          kubeconfig,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: 's', cluster: direct }],
            users: [user],
            contexts: [{ name: 's', context: { cluster: 's', user: context, namespace: 'default' } }],
            'current-context': 's',
          }),
        );
        return { HOME: home, KUBECONFIG: kubeconfig };
      },
      startAgent(names) {
        const clusters = names.map((name) => ({
          name,
          kubeconfig: agentKubeconfig,
          context: 'admin',
          labels: { env: 'dev' },
        }));
        return c.startAgent('kubeagent', `kube: {enabled: true, clusters: ${JSON.stringify(clusters)}}\n`);
      },
      close: c.close,
    };
  } catch (err) {
    await c.close();
    throw err;
  }
}
