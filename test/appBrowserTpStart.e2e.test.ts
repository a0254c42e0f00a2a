// Web apps in a browser against a cluster run as an operator runs it: `tp start` from a tp.yaml whose node serves two
// apps, Chromium on `grafana.tp.localhost`, the launcher, and the audit trail read with `tp audit search`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { type AppsCliCluster, startAppsCliCluster } from './helpers/appsCliCluster.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';

// Chromium sends *.localhost to ::1 as well, where another process may hold the same port: IPv4 loopback only.
const LOOPBACK_APPS = '--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1';

import { waitFor } from './helpers/cluster.ts';

if (!haveChromium()) console.warn('SKIPPING the tp start web app browser test: /usr/bin/chromium is not installed');

const PASSWORD = 'correct horse battery staple';
let dir: string;
let c: AppsCliCluster;
let b: TestBrowser;

describe.skipIf(!haveChromium())('web apps in a browser through tp start', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-appbrowser-'));
    c = await startAppsCliCluster(dir);
    b = await startBrowser(`127.0.0.1:${c.port}`, [LOOPBACK_APPS]);
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the proxy certificate serves the app hosts under its public name (*.tp.localhost)', async () => {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(
        { host: '127.0.0.1', port: c.port, servername: 'grafana.tp.localhost', rejectUnauthorized: false },
        () => {
          resolve(s.getPeerCertificate().raw);
          s.end();
        },
      );
      s.once('error', reject);
    });
    // OpenSSL and browsers take a wildcard only over two labels or more (`*.tp.example.com`), so the names are read.
    const sans = (new X509Certificate(raw).subjectAltName ?? '').split(', ');
    expect(sans).toContain('DNS:tp.localhost');
    expect(sans).toContain('DNS:*.tp.localhost');
    expect(sans.filter((n) => n.startsWith('DNS:*.'))).not.toContain('DNS:*.127.0.0.1');
  });

  test('alice opens grafana on its host, logs in at the launcher and lands on the app; tp audit search finds it', async () => {
    const page = await b.newPage();
    await page.goto(`https://grafana.tp.localhost:${c.port}/hello?x=1`);
    await page
      .getByLabel('User name')
      .waitFor({ timeout: 15_000 })
      .catch(async (err) => {
        throw new Error(`${err}: at ${page.url()}: ${(await page.content()).slice(0, 1500)}`);
      });
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`https://grafana.tp.localhost:${c.port}/hello?x=1`, { timeout: 15_000 });
    const seen = JSON.parse((await page.locator('body').textContent()) ?? '{}');
    expect(seen).toMatchObject({ path: '/hello', method: 'GET', assertion: true });
    const cookies = (await b.context.cookies()).filter((k) => k.name === '__Host-tp_app_session');
    expect(cookies.map((k) => k.domain)).toEqual(['grafana.tp.localhost']);
    expect(b.takeErrors()).toEqual([]);
    // billing (env: prod) is not alice's: its launcher refuses her.
    await page.goto(`https://billing.tp.localhost:${c.port}/`);
    await page.getByRole('alert').waitFor({ timeout: 15_000 });
    expect(await page.getByRole('heading').first().textContent()).toBe('Cannot open billing');
    let found: { path?: string; user?: string; status?: number }[] = [];
    await waitFor(
      'app.request in tp audit search',
      async () => {
        const out = await c.admin(['audit', 'search', '--type', 'app.request', '--since', '1h', '--format', 'json']);
        found = JSON.parse(out);
        return found.some((e) => e.path === '/hello');
      },
      20_000,
    );
    expect(found.find((e) => e.path === '/hello')).toMatchObject({ user: 'alice', status: 200 });
    expect(b.takeErrors().map((e) => e.replace(/:\d+\//, ':PORT/'))).toEqual([
      'Failed to load resource: the server responded with a status of 403 (Forbidden) [https://tp.localhost:PORT/webapi/apps/launch]',
    ]);
  }, 90_000);
});
