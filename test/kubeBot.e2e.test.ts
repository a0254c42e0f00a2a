// Machine identities and Kubernetes (issue 22): `tp bot start --kube k1` keeps DIR/kubeconfig whose credentials come
// from `tp -i DIR/identity kube credentials`, and `tp ci exec` hands its step a KUBECONFIG when the bot reaches a
// cluster. Stock kubectl runs the plugin from those files against the stand-in API server (trusting the cluster's
// TLS CA), so what authenticates is the bot's own certificate.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type KubeCliCluster, kubectlIn, startKubeCliCluster } from './helpers/kubeCliCluster.ts';

const ROLE = `kind: role
metadata: {name: kubebot}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_groups: [deployers]}
`;

let dir: string;
let c: KubeCliCluster;
let bin: string;

/** A join token of a new bot holding the kube role. */
async function botToken(name: string): Promise<{ token: string; ca_pin: string }> {
  return JSON.parse(await c.admin(['bots', 'add', name, '--roles', 'kubebot', '--format', 'json']));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-kubebot-'));
  c = await startKubeCliCluster(dir, ROLE);
  await c.startAgent(['k1', 'k2']);
  const alice = await c.shell();
  await waitFor(
    'k1 and k2 listed online',
    async () => /\nk1\s.*online[\s\S]*\nk2\s.*online/.test((await tp(['kube', 'ls'], { env: alice })).stdout),
    20_000,
  );
  // `tp` on PATH for the CI step, as an installed package would put it.
  bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'tp'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(import.meta.dir, '..', 'cmd', 'tp.ts')}" "$@"\n`,
  );
  chmodSync(join(bin, 'tp'), 0o755);
}, 120_000);
afterAll(async () => {
  await c?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bots with Kubernetes clusters', () => {
  test('tp bot start --kube writes DIR/kubeconfig (0600) whose exec plugin uses the identity file', async () => {
    const t = await botToken('deployer');
    const out = join(dir, 'bot-out');
    const r = await tp(
      ['bot', 'start', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--out', out, '--oneshot'].concat([
        '--kube',
        'k1',
        '--kube',
        'k2,k9',
      ]),
      { env: { TP_HOME: join(dir, 'no-profile') } },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "warning: the bot's roles reach no Kubernetes cluster k9 (they reach: k1, k2); kubectl will be refused there",
    );
    const file = join(out, 'kubeconfig');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kc = parse(readFileSync(file, 'utf8'));
    expect(kc['current-context']).toBe('kube.test-k1');
    expect(kc.contexts.map((x: { name: string }) => x.name)).toEqual(['kube.test-k1', 'kube.test-k2', 'kube.test-k9']);
    const exec = kc.users[0].user.exec;
    expect(exec.command).toBe(process.execPath);
    expect(exec.args.slice(-8)).toEqual(
      ['-i', join(out, 'identity'), 'kube', 'credentials', '--cluster', 'k1'].concat(['--proxy', c.proxy]),
    );
    expect(kc.clusters[0].cluster).toMatchObject({
      server: `https://${c.proxy}`,
      'tls-server-name': 'k1.kube.kube.test',
    });

    // Stock kubectl with the bot's user entry: the stand-in sees the bot's certificate.
    const seen = c.api.requests.length;
    const direct = c.straightToStandIn(file, 'kube.test-k1');
    const get = await kubectlIn(direct, ['get', 'pods'], 'kubectl.1.33');
    expect({ code: get.code, stderr: get.stderr }).toEqual({ code: 0, stderr: '' });
    expect(get.stdout).toMatch(/\np1\s+1\/1\s+Running/);
    expect(new Set(c.api.requests.slice(seen).map((q) => q.authenticated))).toEqual(new Set(['bot-deployer']));
  });

  test('tp ci exec gives the step a KUBECONFIG with every cluster the bot reaches, removed afterwards', async () => {
    const t = await botToken('ci-kube');
    const ca = join(dir, 'standin-ca.pem');
    writeFileSync(ca, c.apiCaPem);
    // The step points kubectl at the stand-in (--server), keeping the context's user: tp's credential plugin.
    const step =
      'echo "kubeconfig=$KUBECONFIG"; kubectl config get-contexts -o name; ' +
      `kubectl --cache-dir "$HOME/kcache" --server ${c.api.url} --certificate-authority ${ca} ` +
      '--tls-server-name localhost get pods -o name';
    const home = mkdtempSync(join(dir, 'ci-home-'));
    const r = await tp(
      ['ci', 'exec', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--', 'sh', '-c', step],
      { env: { PATH: `${bin}:${process.env.PATH}`, TP_HOME: join(dir, 'no-profile'), HOME: home } },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const kubeconfig = /kubeconfig=(.+)\n/.exec(r.stdout)![1]!;
    expect(kubeconfig).toEndWith('/kubeconfig');
    expect(r.stdout).toContain('kube.test-k1\nkube.test-k2\npod/p1\n');
    expect(existsSync(kubeconfig)).toBe(false);
  });

  test('tp ci exec sets no KUBECONFIG when the bot reaches no cluster', async () => {
    await c.admin(['roles', 'create', '-f', '-'], 'kind: role\nmetadata: {name: nokube}\nspec:\n  allow: {}\n');
    const t = JSON.parse(await c.admin(['bots', 'add', 'ci-plain', '--roles', 'nokube', '--format', 'json']));
    const r = await tp(
      [
        'ci',
        'exec',
        '--proxy',
        c.proxy,
        '--token',
        t.token,
        '--ca-pin',
        t.ca_pin,
        '--',
        'sh',
        '-c',
        'echo "k=$KUBECONFIG"',
      ],
      { env: { PATH: `${bin}:${process.env.PATH}`, TP_HOME: join(dir, 'no-profile'), KUBECONFIG: '' } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('k=\n');
  });
});
