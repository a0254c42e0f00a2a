import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { definePlugin } from '../core/plugin/define.ts';
import type { PluginLoader } from '../core/plugin/registry.ts';
import type { ResourceSpec } from '../core/plugin/types.ts';
import { kubePolicy } from '../core/rbac/kube.ts';
import { PLUGINS } from '../plugins/index.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { userPage } from './helpers/webLogin.ts';

// The web UI's Kubernetes page: the clusters a real agent heartbeats appear for a user whose roles reach them (others
// stay hidden), with the Kubernetes users the roles grant and the `tp kube login` line to copy; the page is offered
// only to users some role gives kubernetes_labels.
if (!haveChromium()) console.warn('SKIPPING the web UI Kubernetes tests: /usr/bin/chromium is not installed');

const served: ResourceSpec[] = [
  { name: 'k1', labels: { env: 'dev' }, spec: {} },
  { name: 'k2', labels: { env: 'dev' }, spec: {} },
  { name: 'kprod', labels: { env: 'prod' }, spec: {} },
];

/** The build's plugins plus a kube-kind plugin whose agent side heartbeats `served` (no API server behind it). */
const plugins: PluginLoader[] = [
  ...PLUGINS,
  async () => ({
    default: definePlugin({
      name: 'kube-fixture',
      kind: 'kube',
      alpn: ['tp-kube-fixture'],
      policy: kubePolicy,
      agent: () => ({ resources: () => served, serve: () => Promise.resolve(), close: () => Promise.resolve() }),
    }),
  }),
];

let f: SshFixture;
let b: TestBrowser;
let base: string;

/** A fresh page of its own context with `user` logged in. */
const pageFor = (user: string, viewport?: { width: number; height: number }) =>
  userPage(b, base, user, PASSWORD, viewport);

describe.skipIf(!haveChromium())('web UI Kubernetes clusters', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'kubehost' }], undefined, undefined, plugins);
    await f.role(
      'metadata: {name: dev-kube}\nspec:\n  allow:\n    kubernetes_labels: {env: dev}\n    kubernetes_users: [dev-user]\n    kubernetes_groups: [devs]\n',
    );
    await f.role('metadata: {name: servers-only}\nspec:\n  allow:\n    node_labels: {"*": "*"}\n');
    for (const [user, role] of [
      ['kim', 'dev-kube'],
      ['sam', 'servers-only'],
    ] as const)
      expect((await f.admin(['users', 'add', user, '--roles', role, '--password-stdin'], PASSWORD)).code).toBe(0);
    await waitFor('the clusters at the proxy', async () => (await f.cluster.proxy.view.resources('kube')).length === 3);
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('the clusters the roles reach are listed with their Kubernetes users and the tp kube login line', async () => {
    const page = await pageFor('kim');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Kubernetes' }).click();
    const row = page.locator('tr[data-kube="k1"]');
    await row.waitFor();
    expect(await page.title()).toBe('Kubernetes · tp');
    expect(await page.locator('tr[data-kube="k2"]').count()).toBe(1);
    expect(await page.locator('tr[data-kube="kprod"]').count()).toBe(0);
    expect(await row.textContent()).toContain('dev-user');
    expect(await row.getByTestId('kube-login').textContent()).toBe('tp kube login k1');
    const copy = row.getByRole('button', { name: 'Copy the command to use k1 with kubectl' });
    await copy.click();
    await copy.getByText('Copied').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe('tp kube login k1');
    await b.screenshot(page, 'kubernetes');
    await page.getByLabel('Search').fill('nothing-like-it');
    await page.getByText('No Kubernetes clusters match.').waitFor();
    expect(b.takeErrors()).toEqual([]);
  });

  test('a user no role gives kubernetes_labels is not offered the page; on a phone the list does not scroll sideways', async () => {
    const sam = await pageFor('sam');
    const nav = sam.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Servers' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Kubernetes' }).count()).toBe(0);
    const phone = await pageFor('kim', { width: 390, height: 844 });
    await phone.goto(`${base}/web/kube`);
    await phone.locator('tr[data-kube="k1"]').waitFor();
    const [scroll, inner] = (await phone.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as number[];
    expect(scroll).toBeLessThanOrEqual(inner!);
    expect(b.takeErrors()).toEqual([]);
  });
});
