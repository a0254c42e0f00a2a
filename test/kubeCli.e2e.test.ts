// tp kube end to end, client side: `tp start`, an agent from tp.yaml serving clusters k1 and k2 (the stand-in API
// server behind both), alice logged in with `tp login`, and stock kubectl. kubectl runs tp's exec credential plugin
// from the kubeconfig `tp kube login` wrote, through the proxy; pointed straight at the stand-in (which also trusts
// the cluster's TLS CA) the same user entry proves the plugin alone.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { tp } from './helpers/cli.ts';
import { ptyRun } from './helpers/cliPty.ts';
import { waitFor } from './helpers/cluster.ts';
import {
  KUBECTL_DIR,
  type KubeCliCluster,
  kubectlIn,
  PASSWORD,
  startKubeCliCluster,
} from './helpers/kubeCliCluster.ts';

const ROLE = `kind: role
metadata: {name: kubedev}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_users: [alice], kubernetes_groups: [devs]}
`;

// The user's own kubeconfig before tp touches it: their cluster, user and context, a comment, an unknown field.
const MINE = `# my own clusters
apiVersion: v1
kind: Config
preferences: {}
clusters:
  - name: prod
    cluster:
      server: https://prod.example.com:6443
users:
  - name: me
    user:
      token: my-own-token
contexts:
  - name: prod
    context:
      cluster: prod
      user: me
      namespace: web
current-context: prod
x-vendor: keep me
`;

type Named = { name: string } & Record<string, Record<string, unknown>>;
type Kubeconfig = { clusters: Named[]; users: Named[]; contexts: Named[]; 'current-context'?: string } & Record<
  string,
  unknown
>;

let dir: string;
let c: KubeCliCluster;
let alice: Record<string, string>;
const asAlice = (args: string[], env = alice) => tp(args, { env });
const kubectl = kubectlIn;
const kubeconfigOf = (env: Record<string, string>) => parse(readFileSync(env.KUBECONFIG!, 'utf8')) as Kubeconfig;

const straightToStandIn = (from: Record<string, string>, context: string) =>
  c.straightToStandIn(from.KUBECONFIG!, context);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-kubecli-'));
  c = await startKubeCliCluster(dir, ROLE);
  await c.startAgent(['k1', 'k2']);
  alice = await c.shell();
  await waitFor(
    'k1 and k2 listed online',
    async () => /\nk1\s.*online[\s\S]*\nk2\s.*online/.test((await asAlice(['kube', 'ls'])).stdout),
    20_000,
  );
}, 120_000);
afterAll(async () => {
  await c?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tp kube with stock kubectl', () => {
  test('tp kube ls shows the clusters the roles reach, their labels, users and status', async () => {
    const text = await asAlice(['kube', 'ls']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NAME\s+LABELS\s+KUBERNETES USERS\s+STATUS\s+CONTEXT\n/);
    expect(text.stdout).toMatch(/\nk1\s+env=dev\s+alice\s+online\n/);
    const json = JSON.parse((await asAlice(['kube', 'ls', '--format', 'json'])).stdout) as Output<'kube ls'>;
    const row = (name: string) => ({
      name,
      labels: { env: 'dev' },
      online: true,
      kubernetes_users: ['alice'],
      context: null,
      current: false,
    });
    expect(json).toEqual([row('k1'), row('k2')]);
    const none = JSON.parse((await asAlice(['kube', 'ls', 'env=prod', '--format', 'json'])).stdout);
    expect(none).toEqual([]);
  });

  test('tp kube login merges a cluster, user and current context; the rest of the kubeconfig is untouched', async () => {
    writeFileSync(alice.KUBECONFIG!, MINE, { mode: 0o644 });
    const r = await asAlice(['kube', 'login', 'k1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('context kube.test-k1 is current');
    expect(statSync(alice.KUBECONFIG!).mode & 0o777).toBe(0o600);
    const after = kubeconfigOf(alice);
    const before = parse(MINE) as Kubeconfig;
    expect(after.clusters[0]).toEqual(before.clusters[0]!);
    expect(after.users[0]).toEqual(before.users[0]!);
    expect(after.contexts[0]).toEqual(before.contexts[0]!);
    expect(after['x-vendor']).toBe('keep me');
    expect(readFileSync(alice.KUBECONFIG!, 'utf8')).toStartWith('# my own clusters\n');

    // What kubectl itself reads from it.
    const view = await kubectl(alice, ['config', 'view', '--minify', '-o', 'json']);
    expect(view.code).toBe(0);
    const min = JSON.parse(view.stdout) as Kubeconfig;
    expect(min['current-context']).toBe('kube.test-k1');
    expect(min.clusters[0]!.cluster).toMatchObject({
      server: `https://${c.proxy}`,
      'tls-server-name': 'k1.kube.kube.test',
      'certificate-authority-data': 'DATA+OMITTED',
    });
    const exec = min.users[0]!.user!.exec as Record<string, unknown>;
    expect(exec).toMatchObject({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      interactiveMode: 'IfAvailable',
      provideClusterInfo: false,
      env: [{ name: 'TP_HOME', value: alice.TP_HOME }],
    });
    expect((exec.args as string[]).slice(-6)).toEqual(['kube', 'credentials', '--cluster', 'k1', '--proxy', c.proxy]);
    const ca = after.clusters[1]!.cluster!['certificate-authority-data'] as string;
    expect(Buffer.from(ca, 'base64').toString()).toBe(await c.admin(['ca', 'export', '--type', 'tls']));
    const ls = (await asAlice(['kube', 'ls'])).stdout;
    expect(ls).toMatch(/\nk1\s.*online\s+kube\.test-k1 \*\n/);
    expect(ls).toMatch(/\nk2\s.*online\n/);
  });

  test('tp kube credentials prints only an ExecCredential: the tp certificate and key, until it expires', async () => {
    const r = await asAlice(['kube', 'credentials', '--cluster', 'k1', '--proxy', c.proxy]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const cred = JSON.parse(r.stdout);
    const keys = join(alice.TP_HOME!, 'keys', c.proxy.replace(/[^A-Za-z0-9_.-]/g, '_'));
    const cert = readFileSync(join(keys, 'tls.crt'), 'utf8');
    expect(cred).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: {
        expirationTimestamp: new X509Certificate(cert).validToDate.toISOString().replace('.000Z', 'Z'),
        clientCertificateData: cert,
        clientKeyData: readFileSync(join(keys, 'tls.key'), 'utf8'),
      },
    });
  });

  for (const binary of ['kubectl.1.33', 'kubectl.1.29'])
    test(`${binary}: after tp kube login, kubectl get pods goes through tp as the roles' Kubernetes user`, async () => {
      const seen = c.api.requests.length;
      const r = await kubectl(alice, ['get', 'pods'], binary);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+1\/1\s+Running\s+0\s+/);
      const mine = c.api.requests.slice(seen);
      expect(mine.length).toBeGreaterThan(0);
      for (const q of mine)
        expect({ by: q.authenticated, as: q.user, groups: q.groups }).toMatchObject({
          by: 'tp-agent',
          as: 'alice',
          groups: expect.arrayContaining(['devs']),
        });
    });

  for (const binary of ['kubectl.1.33', 'kubectl.1.29'])
    test(`${binary} runs the credential plugin and authenticates with the tp certificate`, async () => {
      const direct = straightToStandIn(alice, 'kube.test-k1');
      const seen = c.api.requests.length;
      const r = await kubectl(direct, ['get', 'pods'], binary);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+1\/1\s+Running\s+0\s+/);
      const mine = c.api.requests.slice(seen);
      expect(mine.length).toBeGreaterThan(0);
      expect(new Set(mine.map((q) => q.authenticated))).toEqual(new Set(['alice']));
    });

  test('20 parallel credential runs all answer from the profile, about as fast as 20 `tp version`', async () => {
    const parallel = async (args: string[]) => {
      const t0 = performance.now();
      const runs = await Promise.all(Array.from({ length: 20 }, () => asAlice(args)));
      return { runs, wall: performance.now() - t0 };
    };
    const base = await parallel(['version']);
    const cred = await parallel(['kube', 'credentials', '--cluster', 'k1', '--proxy', c.proxy]);
    for (const r of cred.runs) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).kind).toBe('ExecCredential');
    }
    console.error(
      `20 parallel: tp kube credentials ${Math.round(cred.wall)} ms wall, tp version ${Math.round(base.wall)} ms`,
    );
    // Same machine, same moment: a network round trip or a heavy import per run (the YAML library alone costs
    // ~100 ms, twenty times over on two cores) would put it far above the bare start-up.
    expect(cred.wall).toBeLessThan(base.wall * 2.5 + 1000);
  });

  test('an expired tp login makes kubectl print `tp login` from the plugin, not a TLS error', async () => {
    const short = await c.shell('3s');
    writeFileSync(short.KUBECONFIG!, '');
    expect((await asAlice(['kube', 'login', 'k1'], short)).code).toBe(0);
    const direct = { ...straightToStandIn(short, 'kube.test-k1') };
    const expires = new X509Certificate(
      readFileSync(join(short.TP_HOME!, 'keys', c.proxy.replace(/[^A-Za-z0-9_.-]/g, '_'), 'tls.crt'), 'utf8'),
    ).validToDate.getTime();
    await waitFor('the short login to expire', () => Date.now() > expires + 100, 15_000);
    const cred = await asAlice(['kube', 'credentials', '--cluster', 'k1', '--proxy', c.proxy], short);
    expect(cred).toMatchObject({ code: 6, stdout: '', stderr: 'tp: your tp login expired: run `tp login`\n' });
    // Through tp and straight to the stand-in alike: the plugin's words, no TLS error.
    for (const env of [short, direct]) {
      const r = await kubectl(env, ['get', 'pods'], 'kubectl.1.33');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('tp: your tp login expired: run `tp login`');
      expect(r.stderr).not.toMatch(/x509|tls:|certificate/i);
    }
    // Logging in again is all it takes: the kubeconfig is unchanged.
    await c.login(short);
    expect((await kubectl(short, ['get', 'pods'], 'kubectl.1.33')).code).toBe(0);
  });

  test('at a terminal, parallel kubectl runs with an expired login ask for the password once and all go on', async () => {
    const short = await c.shell('3s');
    writeFileSync(short.KUBECONFIG!, '');
    expect((await asAlice(['kube', 'login', 'k1'], short)).code).toBe(0);
    const tls = join(short.TP_HOME!, 'keys', c.proxy.replace(/[^A-Za-z0-9_.-]/g, '_'), 'tls.crt');
    const expires = new X509Certificate(readFileSync(tls, 'utf8')).validToDate.getTime();
    await waitFor('the short login to expire', () => Date.now() > expires + 100, 15_000);
    const logins = async () =>
      (JSON.parse(await c.admin(['audit', 'search', '--type', 'user.login', '--format', 'json'])) as unknown[]).length;
    const before = await logins();
    // Three kubectl at once, each handed the terminal (so each says it is interactive); the plugin's own output and
    // the password prompt go to the terminal, each kubectl's answer to a file.
    const out = mkdtempSync(join(dir, 'pty-'));
    const kubectlWord = `'${join(KUBECTL_DIR, 'kubectl.1.33')}' --cache-dir '${join(short.HOME!, 'kcache')}'`;
    const session = ptyRun(
      `for i in 1 2 3; do ${kubectlWord} get pods -o name </dev/tty >'${out}'/$i & done; wait; echo ALL-DONE`,
      short,
    );
    try {
      await session.expect(/Password for alice@kube\.test: /, 20_000);
      session.type(`${PASSWORD}\r`);
      await session.expect(/ALL-DONE/, 30_000);
    } finally {
      session.kill();
    }
    for (const i of ['1', '2', '3'])
      expect({ i, got: readFileSync(join(out, i), 'utf8') }).toEqual({ i, got: 'pod/p1\n' });
    expect(session.output().match(/Password for/g)).toHaveLength(1);
    expect(session.output()).toContain('tp: your tp login expired: logging in again');
    expect(await logins()).toBe(before + 1);
  }, 60_000);

  test('a profile for another proxy is named, with the login that fixes it', async () => {
    const r = await asAlice(['kube', 'credentials', '--cluster', 'k1', '--proxy', '127.0.0.1:1']);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `tp: your tp profile is for proxy ${c.proxy}, but this kubeconfig entry is for 127.0.0.1:1: ` +
        'run `tp login --proxy 127.0.0.1:1`\n',
    );
  });

  test('an unknown cluster is refused with the ones the roles reach', async () => {
    const r = await asAlice(['kube', 'login', 'nope']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no Kubernetes cluster "nope" you may reach; your roles reach: k1, k2');
  });

  test('two clusters, two contexts; tp kube logout gives back the kubeconfig as it was', async () => {
    writeFileSync(alice.KUBECONFIG!, MINE, { mode: 0o600 });
    expect((await asAlice(['kube', 'login', 'k1'])).code).toBe(0);
    expect((await asAlice(['kube', 'login', 'k2'])).code).toBe(0);
    const both = kubeconfigOf(alice);
    expect(both.contexts.map((x) => x.name)).toEqual(['prod', 'kube.test-k1', 'kube.test-k2']);
    expect(both['current-context']).toBe('kube.test-k2');
    // Each context reaches its own cluster through tp (the proxy routes by the context's tls-server-name).
    for (const k of ['k1', 'k2']) {
      const r = await kubectl(alice, ['--context', `kube.test-${k}`, 'get', 'pods', '-o', 'name'], 'kubectl.1.33');
      expect({ k, code: r.code, out: r.stdout }).toEqual({ k, code: 0, out: 'pod/p1\n' });
      await waitFor(`a kube.request to ${k} audited`, async () => {
        const events = JSON.parse(await c.admin(['audit', 'search', '--type', 'kube.request', '--format', 'json']));
        return events.some(
          (e: Record<string, unknown>) => e.kube_cluster === k && e.path === '/api/v1/namespaces/default/pods',
        );
      });
    }
    const one = await asAlice(['kube', 'logout', 'k2']);
    expect(one.stdout).toBe(`Removed kube.test-k2 from ${alice.KUBECONFIG}\n`);
    expect(kubeconfigOf(alice)['current-context']).toBe('kube.test-k1');
    const rest = await asAlice(['kube', 'logout']);
    expect(rest.stdout).toBe(`Removed kube.test-k1 from ${alice.KUBECONFIG}\n`);
    expect(readFileSync(alice.KUBECONFIG!, 'utf8')).toBe(MINE);
    const again = await asAlice(['kube', 'logout', 'k1']);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('no tp context for Kubernetes cluster "k1"');
  });
});
