// Machine identities and Kubernetes (issue 22): `tp bot start --kube k1` keeps DIR/kubeconfig whose credentials come
// from `tp -i DIR/identity kube credentials`, and `tp ci exec` hands its step a KUBECONFIG when the bot reaches a
// cluster. Stock kubectl runs the plugin from those files through tp, and straight against the stand-in API server
// (which also trusts the cluster's TLS CA) to show that what authenticates is the bot's own certificate.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { spawnBot } from './helpers/botFixture.ts';
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

    // Stock kubectl with the bot's user entry, straight to the stand-in: the bot's own certificate authenticates.
    let seen = c.api.requests.length;
    const direct = c.straightToStandIn(file, 'kube.test-k1');
    const get = await kubectlIn(direct, ['get', 'pods'], 'kubectl.1.33');
    expect({ code: get.code, stderr: get.stderr }).toEqual({ code: 0, stderr: '' });
    expect(get.stdout).toMatch(/\np1\s+1\/1\s+Running/);
    expect(new Set(c.api.requests.slice(seen).map((q) => q.authenticated))).toEqual(new Set(['bot-deployer']));
    // And through tp, as the file is: the agent runs it as the bot with the role's groups.
    seen = c.api.requests.length;
    const home = mkdtempSync(join(dir, 'bot-kubectl-'));
    const viaTp = await kubectlIn({ HOME: home, KUBECONFIG: file }, ['get', 'pods', '-o', 'name'], 'kubectl.1.33');
    expect({ code: viaTp.code, out: viaTp.stdout, stderr: viaTp.stderr }).toEqual({
      code: 0,
      out: 'pod/p1\n',
      stderr: '',
    });
    for (const q of c.api.requests.slice(seen))
      expect({ by: q.authenticated, as: q.user, groups: q.groups }).toMatchObject({
        by: 'tp-agent',
        as: 'bot-deployer',
        groups: expect.arrayContaining(['deployers']),
      });
  });

  test('tp ci exec gives the step a KUBECONFIG with every cluster the bot reaches, removed afterwards', async () => {
    const t = await botToken('ci-kube');
    const ca = join(dir, 'standin-ca.pem');
    writeFileSync(ca, c.apiCaPem);
    // Once straight to the stand-in (--server, keeping the context's user: tp's credential plugin), once through tp.
    const step =
      'echo "kubeconfig=$KUBECONFIG"; kubectl config get-contexts -o name; ' +
      `kubectl --cache-dir "$HOME/kcache" --server ${c.api.url} --certificate-authority ${ca} ` +
      '--tls-server-name localhost get pods -o name && kubectl --cache-dir "$HOME/kcache" --context kube.test-k2 get pods -o name';
    const home = mkdtempSync(join(dir, 'ci-home-'));
    const r = await tp(
      ['ci', 'exec', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--', 'sh', '-c', step],
      { env: { PATH: `${bin}:${process.env.PATH}`, TP_HOME: join(dir, 'no-profile'), HOME: home } },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const kubeconfig = /kubeconfig=(.+)\n/.exec(r.stdout)![1]!;
    expect(kubeconfig).toEndWith('/kubeconfig');
    expect(r.stdout).toContain('kube.test-k1\nkube.test-k2\npod/p1\npod/p1\n');
    expect(existsSync(kubeconfig)).toBe(false);
  });

  test("a running bot's kubeconfig keeps working past its first certificate; once the bot stops, the plugin says so", async () => {
    const t = await botToken('renewer');
    const out = join(dir, 'renewer-out');
    const bot = spawnBot(
      ['bot', 'start', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--out', out].concat([
        '--kube',
        'k1',
        '--ttl',
        '6s',
        '--renew-every',
        '2s',
      ]),
    );
    const env = { HOME: mkdtempSync(join(dir, 'renewer-home-')), KUBECONFIG: join(out, 'kubeconfig') };
    const expiry = () => {
      const id = JSON.parse(readFileSync(join(out, 'identity'), 'utf8')) as { tlsCert: string };
      return new X509Certificate(id.tlsCert).validToDate.getTime();
    };
    try {
      await bot.waitFor(/identity written to/);
      const first = expiry();
      await waitFor('the first certificate to expire', () => Date.now() > first + 500, 15_000);
      const r = await kubectlIn(env, ['get', 'pods', '-o', 'name'], 'kubectl.1.33');
      expect({ code: r.code, out: r.stdout, stderr: r.stderr }).toEqual({ code: 0, out: 'pod/p1\n', stderr: '' });
    } finally {
      await bot.stop();
    }
    const last = expiry();
    await waitFor('the last certificate to expire', () => Date.now() > last + 500, 15_000);
    const r = await kubectlIn(env, ['get', 'pods'], 'kubectl.1.33');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`tp: identity file ${join(out, 'identity')} expired at `);
    expect(r.stderr).toContain('is `tp bot start` running to renew it?');
    expect(r.stderr).not.toMatch(/x509|tls:/i);
  }, 60_000);

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
