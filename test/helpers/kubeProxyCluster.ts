// A cluster as an operator sets one up for Kubernetes, all through the real CLI: `tp start` from a tp.yaml, roles and
// users created with `tp roles create` / `tp users add`, `tp login` into each user's own TP_HOME, and `tp agent start`
// from an agent tp.yaml whose `kube` section lists clusters backed by the stand-in API server (its own kubeconfig).
// kubectl homes point at the proxy with the user's tp certificate and `tls-server-name: <name>.kube.<cluster>`.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { ApiClient } from '../../core/api/client.ts';
import { ListedResourceSchema } from '../../core/api/resourceSchemas.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import type { KubeStandIn } from '../fixtures/kubeApiServer.ts';
import { run, tpOk } from './cli.ts';
import { waitFor } from './cluster.ts';
import type { DbTestPki } from './dbPki.ts';
import { type KubectlHome, kubectlHome } from './kubectl.ts';
import { type KubeStandInSetup, startKubeStandInSetup } from './kubeStandInSetup.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

const PASSWORD = 'correct horse battery staple';

/** The tp cluster's name: kube server names are `<name>.kube.kube.e2e`. */
export const KUBE_E2E_CLUSTER = 'kube.e2e';

/** A bearer token the stand-in takes as `cluster-admin`: a test shows a client's own never reaches it through tp. */
export const STAND_IN_ADMIN_TOKEN = 'stand-in-cluster-admin-token';

/** One `kube.clusters` entry of the agent's tp.yaml (the kubeconfig is the stand-in's, written here). */
export interface KubeEntry {
  name: string;
  labels?: Record<string, string>;
}

export interface KubeProxyCluster {
  dir: string;
  /** The proxy's address (`host:port`), as kubectl's `server` names it. */
  proxy: string;
  /** The stand-in API server every cluster of the agent reaches. */
  api: KubeStandIn;
  pki: DbTestPki;
  /** Runs an admin command (`--data-dir`) and returns its stdout. */
  admin(args: string[], stdin?: string): Promise<string>;
  /** Adds `name` holding `roles` and logs them in with `tp login` into their own TP_HOME. */
  addUser(name: string, roles: string[]): Promise<void>;
  /** Logs `name` in (again) with `tp login` (first contact: `--insecure`). */
  login(name: string): Promise<void>;
  /** The environment of a user's shell (their TP_HOME). */
  env(user: string): Record<string, string>;
  /** `tp kube login cluster` as `user` into a fresh HOME and KUBECONFIG: kubectl runs tp's credential plugin. */
  kubeLogin(user: string, cluster: string): Promise<KubectlHome>;
  /**
   * A fresh kubectl home whose kubeconfig is written here, not by tp: `cluster` through the proxy with `user`'s tp
   * certificate files (or `certPath` / `keyPath`), for attacks `tp kube login` would not write.
   */
  kubectl(user: string, cluster: string, opts?: { certPath?: string; keyPath?: string }): KubectlHome;
  /** Starts `tp agent start` from a tp.yaml serving `clusters` (labels env=dev unless given); its process. */
  startAgent(clusters: KubeEntry[]): Promise<TpDaemon>;
  /** Waits until the proxy lists `names` online to `user` (one agent heartbeats all its clusters at once). */
  waitOnline(user: string, names: string[]): Promise<void>;
  /** What the tp processes logged so far (stderr), for a failing test's message. */
  logs(): string;
  close(): Promise<void>;
}

/** Starts the stand-in (reporting `minor`) with pods p1 and p2 and the admin token, and the agent's kubeconfig under `dir`. */
export function startKubeStandIn(dir: string, minor = 33): Promise<KubeStandInSetup> {
  return startKubeStandInSetup(dir, {
    minor,
    tokens: { [STAND_IN_ADMIN_TOKEN]: 'cluster-admin' },
    pods: [
      { name: 'p1', namespace: 'default', created: Date.now() - 60_000 },
      { name: 'p2', namespace: 'default', created: Date.now() - 120_000 },
    ],
  });
}

/** Starts the stand-in (reporting `minor`), the cluster from tp.yaml and `roleYaml` (a `tp roles create` document). */
export async function startKubeProxyCluster(dir: string, roleYaml: string, minor = 33): Promise<KubeProxyCluster> {
  const { api, pki, kubeconfig } = await startKubeStandIn(dir, minor);
  const dataDir = join(dir, 'data');
  const config = join(dir, 'tp.yaml');
  writeFileSync(
    config,
    `cluster_name: ${KUBE_E2E_CLUSTER}\ndata_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n',
  );
  const daemons: TpDaemon[] = [];
  const close = async () => {
    for (const d of daemons.reverse()) await d.stop();
    await api.close();
  };
  try {
    daemons.push(await startTpDaemon(['start', '--config', config], /log in and connect/i));
    const proxy = /proxy:\s+https:\/\/(\S+)/.exec(daemons[0]!.banner)?.[1];
    if (!proxy) throw new Error(`no proxy address in the banner: ${daemons[0]!.banner}`);
    const admin = (args: string[], stdin?: string) => tpOk([...args, '--data-dir', dataDir], { stdin });
    await admin(['roles', 'create', '-f', '-'], roleYaml);
    const env = (user: string) => ({ TP_HOME: join(dir, `home-${user}`) });
    const keys = (user: string) => profileKeysDir(proxy, env(user).TP_HOME);
    const c: KubeProxyCluster = {
      dir,
      proxy,
      api,
      pki,
      admin,
      env,
      addUser: async (name, roles) => {
        await admin(['users', 'add', name, '--roles', roles.join(','), '--password-stdin'], PASSWORD);
        await c.login(name);
      },
      login: async (name) => {
        const args = ['login', '--proxy', proxy, '--user', name, '--password-stdin', '--insecure'];
        await tpOk(args, { env: env(name), stdin: PASSWORD });
      },
      kubeLogin: async (user, cluster) => {
        const home = mkdtempSync(join(dir, `kubehome-${user}-`));
        const kubeconfig = join(home, 'kubeconfig');
        const shell = { ...env(user), HOME: home, KUBECONFIG: kubeconfig };
        await tpOk(['kube', 'login', cluster], { env: shell });
        const command = (args: string[], binary = 'kubectl') => ({
          cmd: [binary, '--cache-dir', join(home, 'cache'), ...args],
          env: shell,
        });
        return {
          dir: home,
          kubeconfig,
          command,
          kubectl: (args, opts = {}) => {
            const c = command(args, opts.binary);
            return run(c.cmd, { env: c.env, stdin: opts.stdin });
          },
        };
      },
      kubectl: (user, cluster, opts = {}) =>
        kubectlHome({
          server: `https://${proxy}`,
          caPem: readFileSync(join(keys(user), 'cas.pem'), 'utf8'),
          tlsServerName: `${cluster}.kube.${KUBE_E2E_CLUSTER}`,
          certPath: opts.certPath ?? join(keys(user), 'tls.crt'),
          keyPath: opts.keyPath ?? join(keys(user), 'tls.key'),
        }),
      startAgent: async (clusters) => {
        const n = daemons.length;
        const token = v.parse(
          v.object({ token: v.string(), ca_pin: v.string() }),
          JSON.parse(await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])),
        );
        const entries = clusters.map((k) => ({ labels: { env: 'dev' }, ...k, kubeconfig, context: 'admin' }));
        const file = join(dir, `agent-${n}.yaml`);
        writeFileSync(
          file,
          `data_dir: ${join(dir, `agent-${n}`)}\n` +
            `ssh: {name: kubeagent${n}, proxy: "${proxy}", token: "${token.token}", ca_pin: "${token.ca_pin}"}\n` +
            `kube: {enabled: true, clusters: ${JSON.stringify(entries)}}\n`,
        );
        const agent = await startTpDaemon(['agent', 'start', '--config', file], /agent \S+ running/);
        daemons.push(agent);
        return agent;
      },
      waitOnline: async (user, names) => {
        const p = keys(user);
        const read = (f: string) => readFileSync(join(p, f), 'utf8');
        const api = new ApiClient([proxy], {
          ca: read('cas.pem'),
          cert: read('tls.crt'),
          key: read('tls.key'),
          serverRole: 'proxy',
        });
        await waitFor(
          `kube clusters ${names.join(', ')} listed online for ${user}`,
          async () => {
            const rows = await api.send(v.array(ListedResourceSchema), 'GET', '/webapi/resources?kind=kube');
            return names.every((n) => rows.some((r) => r.name === n && r.online));
          },
          20_000,
        );
      },
      logs: () => daemons.map((d) => d.stderr()).join('\n'),
      close,
    };
    return c;
  } catch (err) {
    await close();
    throw err;
  }
}
