import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { dbSpec, withFixtureDb } from './helpers/resourceFixture.ts';
import { PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { userPage } from './helpers/webLogin.ts';

// The web UI lists databases beside the servers: a database a real agent heartbeats appears for a user whose roles
// show it (and one they do not show stays hidden), with the db users granted there and the command to connect.
if (!haveChromium()) console.warn('SKIPPING the web UI databases tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;
let served = [dbSpec('pg1', { env: 'dev' }), dbSpec('pg-prod', { env: 'prod' })];

/** A fresh page of its own context with `user` logged in. */
const pageFor = (user: string, viewport?: { width: number; height: number }) =>
  userPage(b, base, user, PASSWORD, viewport);

describe.skipIf(!haveChromium())('web UI databases', () => {
  beforeAll(async () => {
    f = await startSshFixture(
      [{ name: 'dbhost' }],
      undefined,
      undefined,
      withFixtureDb(() => served),
    );
    await f.role(
      'metadata: {name: dev-db}\nspec:\n  allow:\n    db_labels: {env: dev}\n    db_users: ["{{internal.db_users}}"]\n',
    );
    const add = await f.admin(
      ['users', 'add', 'dana', '--roles', 'dev-db', '--db-users', 'dana,reader', '--password-stdin'],
      PASSWORD,
    );
    expect(add.code).toBe(0);
    await waitFor('the databases at the proxy', async () => (await f.cluster.proxy.view.resources('db')).length === 2);
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('a heartbeated database appears beside the servers with its db users and the command to connect', async () => {
    const page = await pageFor('dana');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Databases' }).click();
    const row = page.locator('tr[data-db="pg1"]');
    await row.waitFor();
    expect(await page.title()).toBe('Databases · tp');
    expect(await row.getByTestId('db-connect').textContent()).toBe('tp db connect pg1 --db-user dana');
    expect(await row.textContent()).toContain('postgres');
    expect(await row.textContent()).toContain('dana, reader');
    expect(await row.locator('.dot.on').count()).toBe(1);
    expect(await page.locator('tr[data-db="pg-prod"]').count()).toBe(0);
    await row.getByRole('button', { name: 'Copy the command to connect to pg1' }).click();
    await row.getByRole('button', { name: 'Copy the command to connect to pg1' }).getByText('Copied').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe('tp db connect pg1 --db-user dana');
    await b.screenshot(page, 'databases');
    // The search narrows the list on the proxy, as on the servers page.
    await page.getByLabel('Search').fill('nothing-like-it');
    await page.getByText('No databases match.').waitFor();
    expect(b.takeErrors()).toEqual([]);
  });

  test('a database no longer served leaves the list; on a phone the list does not scroll sideways', async () => {
    served = [dbSpec('pg2', { env: 'dev' })];
    await waitFor('pg1 to leave', async () =>
      (await f.cluster.proxy.view.resources('db')).every((r) => r.name === 'pg2'),
    );
    const page = await pageFor('dana', { width: 390, height: 844 });
    await page.goto(`${base}/web/databases`);
    await page.locator('tr[data-db="pg2"]').waitFor();
    expect(await page.locator('tr[data-db="pg1"]').count()).toBe(0);
    const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as number[];
    expect(scroll).toBeLessThanOrEqual(inner!);
    expect(b.takeErrors()).toEqual([]);
  });
});
