import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { appSpec, withFixtureApp } from './helpers/appFixture.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { userPage } from './helpers/webLogin.ts';

// The web UI's Applications page: the apps a real agent heartbeats appear for a user whose roles reach them (others
// stay hidden), each with a Launch link to the launcher and the `tp apps login` line; the page is offered only to
// users some role lets reach apps at all.
if (!haveChromium()) console.warn('SKIPPING the web UI applications tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;
const served = [
  appSpec('grafana', 'http://127.0.0.1:3000', { env: 'dev' }),
  { name: 'wiki', labels: { env: 'dev' }, spec: { uri: 'http://127.0.0.1:3002' } },
  appSpec('billing', 'http://127.0.0.1:3001', { env: 'prod' }),
];

/** A fresh page of its own context with `user` logged in. */
const pageFor = (user: string, viewport?: { width: number; height: number }) =>
  userPage(b, base, user, PASSWORD, viewport);

describe.skipIf(!haveChromium())('web UI applications', () => {
  beforeAll(async () => {
    f = await startSshFixture(
      [{ name: 'apphost' }],
      undefined,
      undefined,
      withFixtureApp(() => served),
    );
    await f.role('metadata: {name: dev-apps}\nspec:\n  allow:\n    app_labels: {env: dev}\n');
    await f.role('metadata: {name: servers-only}\nspec:\n  allow:\n    node_labels: {"*": "*"}\n');
    for (const [user, role] of [
      ['ana', 'dev-apps'],
      ['sam', 'servers-only'],
    ] as const)
      expect((await f.admin(['users', 'add', user, '--roles', role, '--password-stdin'], PASSWORD)).code).toBe(0);
    await waitFor('the apps at the proxy', async () => (await f.cluster.proxy.view.resources('app')).length === 3);
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('the apps the roles reach are listed with their address, a Launch link and the tp apps login line', async () => {
    const page = await pageFor('ana');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Applications' }).click();
    const row = page.locator('tr[data-app="grafana"]');
    await row.waitFor();
    expect(await page.title()).toBe('Applications · tp');
    expect(await page.locator('tr[data-app="billing"]').count()).toBe(0);
    expect(await row.textContent()).toContain('grafana.localhost');
    // Without a public_addr of its own an app is served on <name>.<this proxy's host>:<port>.
    const port = f.cluster.proxy.addr.split(':')[1];
    expect(await page.locator('tr[data-app="wiki"]').textContent()).toContain(`wiki.localhost:${port}`);
    const launch = row.getByRole('link', { name: 'Launch grafana' });
    expect(await launch.getAttribute('href')).toBe('/web/launch/grafana');
    expect(await launch.getAttribute('target')).toBe('_blank');
    expect(await row.getByTestId('app-login').textContent()).toBe('tp apps login grafana');
    const copy = row.getByRole('button', { name: 'Copy the command to log in to grafana from a terminal' });
    await copy.click();
    await copy.getByText('Copied').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe('tp apps login grafana');
    await b.screenshot(page, 'applications');
    await page.getByLabel('Search').fill('nothing-like-it');
    await page.getByText('No applications match.').waitFor();
    expect(b.takeErrors()).toEqual([]);
  });

  test('a user no role lets reach apps is not offered the page; on a phone the list does not scroll sideways', async () => {
    const sam = await pageFor('sam');
    const nav = sam.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Servers' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Applications' }).count()).toBe(0);
    const phone = await pageFor('ana', { width: 390, height: 844 });
    await phone.goto(`${base}/web/apps`);
    await phone.locator('tr[data-app="grafana"]').waitFor();
    const [scroll, inner] = (await phone.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as number[];
    expect(scroll).toBeLessThanOrEqual(inner!);
    expect(b.takeErrors()).toEqual([]);
  });
});
