// Web apps in a browser (issue 20): headless Chromium opens an app's own host, is sent to the web UI's launcher,
// logs in and lands on the app with a host-only app session cookie; the app's WebSocket echo works through tp, the
// upstream verifies the signed identity token against the proxy's JWKS, and /tp-logout ends the session.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import {
  APP_PASSWORD,
  type AppBrowserCluster,
  rawAppRequest,
  startAppBrowserCluster,
} from './helpers/appBrowserCluster.ts';
import { auditOf } from './helpers/audit.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';

// Chromium sends *.localhost to ::1 as well, where another process may hold the same port: IPv4 loopback only.
const LOOPBACK_APPS = '--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1';

import { waitFor } from './helpers/cluster.ts';

if (!haveChromium()) console.warn('SKIPPING the web app browser tests: /usr/bin/chromium is not installed');

let a: AppBrowserCluster;
let b: TestBrowser;

async function logIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(APP_PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

describe.skipIf(!haveChromium())('web apps in a browser', () => {
  beforeAll(async () => {
    a = await startAppBrowserCluster();
    b = await startBrowser(a.c.proxy.addr, [LOOPBACK_APPS]);
  }, 90_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  test('an app host sends a browser without a session to the launcher, which logs in and lands on the app', async () => {
    const page = await b.newPage();
    await page.goto(`${a.appUrl('grafana')}/dash?panel=2`);
    // The launcher on the proxy's own host asks for a login first.
    await page.getByLabel('User name').waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).host).toBe(`localhost:${a.port}`);
    expect(page.url()).toContain('/web/launch/grafana?state=');
    await logIn(page, 'alice');
    await page
      .locator('#upstream-app')
      .waitFor({ timeout: 15_000 })
      .catch(async (err) => {
        throw new Error(`${err}: at ${page.url()}: ${await page.content()} ${b.errors.join('; ')}`);
      });
    expect(page.url()).toBe(`${a.appUrl('grafana')}/dash?panel=2`);
    expect(await page.locator('#upstream-app').textContent()).toBe('grafana');
    // The cookie lives on the app's host only, HttpOnly, Secure, SameSite=Lax; the state cookie is gone.
    const cookies = await b.context.cookies();
    const app = cookies.filter((c) => c.name === '__Host-tp_app_session');
    expect(app).toHaveLength(1);
    expect(app[0]).toMatchObject({
      domain: 'grafana.localhost',
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
    expect(cookies.filter((c) => c.name === '__Host-tp_app_state')).toHaveLength(0);
    // The upstream got the user's token (verified against /.well-known/jwks.json), never tp's cookies.
    const last = a.seen.filter((s) => s.app === 'grafana' && s.path === '/dash').at(-1)!;
    expect(last.tokenError).toBeUndefined();
    expect(last.claims).toMatchObject({ sub: 'alice', username: 'alice', roles: ['access'] });
    expect(last.headers.cookie ?? '').not.toContain('tp_app');
    expect(b.takeErrors()).toEqual([]);
  }, 60_000);

  test('the app WebSocket echo works through tp, a redirect to the internal address arrives rewritten', async () => {
    const page = await b.newPage();
    await page.goto(`${a.appUrl('grafana')}/`);
    await page.locator('#upstream-app').waitFor({ timeout: 15_000 });
    const echoed = await page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send('hello');
          ws.onmessage = (e) => resolve(String(e.data));
          ws.onerror = () => reject(new Error('websocket failed'));
        }),
      `wss://grafana.localhost:${a.port}/ws`,
    );
    expect(echoed).toBe('echo:hello');
    const res = await page.evaluate(async () => {
      const r = await fetch('/redirect', { redirect: 'manual' });
      return r.type;
    });
    expect(res).toBe('opaqueredirect');
    await page.goto(`${a.appUrl('grafana')}/redirect`);
    await page.locator('#upstream-app').waitFor({ timeout: 15_000 });
    expect(page.url()).toBe(`${a.appUrl('grafana')}/x?y=1`);
  }, 60_000);

  test('/tp-logout ends the app session: the cookie is cleared and a replayed cookie is sent to the launcher', async () => {
    const before = (await b.context.cookies()).find((c) => c.name === '__Host-tp_app_session')!;
    const page = await b.newPage();
    await page.goto(`${a.appUrl('grafana')}/tp-logout`);
    await page.getByText('You have logged out of grafana.').waitFor();
    expect((await b.context.cookies()).filter((c) => c.name === '__Host-tp_app_session')).toHaveLength(0);
    const replay = await rawAppRequest(
      a.port,
      'grafana.localhost',
      `GET / HTTP/1.1\r\nHost: grafana.localhost:${a.port}\r\nCookie: __Host-tp_app_session=${before.value}\r\nConnection: close\r\n\r\n`,
    );
    expect(replay).toStartWith('HTTP/1.1 302');
    expect(replay).toContain(`Location: https://localhost:${a.port}/web/launch/grafana?state=`);
    const admin = a.c.auth.admin;
    await waitFor('the web app session end at auth', async () =>
      (await auditOf(admin, 'app.session.end')).some((e) => e.via === 'web' && e.user === 'alice'),
    );
    const start = (await auditOf(admin, 'app.session.start')).find((e) => e.via === 'web' && e.user === 'alice');
    expect(start).toMatchObject({ success: true, app_name: 'grafana', app_public_addr: `grafana.localhost:${a.port}` });
    // `tp audit search --type app.request` finds the requests: the path without its query, status and bytes.
    const req = (await auditOf(admin, 'app.request')).find((e) => e.path === '/dash');
    expect(req).toMatchObject({ user: 'alice', method: 'GET', status: 200, session_id: start!.session_id });
    expect(JSON.stringify(req)).not.toContain('panel=2');
  }, 60_000);

  test('a user whose roles deny the app is refused at the launcher, and the refusal is audited', async () => {
    const ctx = await b.browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${a.appUrl('grafana')}/`);
    await page.getByLabel('User name').waitFor({ timeout: 15_000 });
    await logIn(page, 'erin');
    await page.getByRole('alert').waitFor({ timeout: 15_000 });
    expect(await page.getByRole('heading').first().textContent()).toBe('Cannot open grafana');
    expect(new URL(page.url()).host).toBe(`localhost:${a.port}`);
    expect((await ctx.cookies()).filter((c) => c.name === '__Host-tp_app_session')).toHaveLength(0);
    await ctx.close();
    await waitFor('the refusal in the audit log', async () =>
      (await auditOf(a.c.auth.admin, 'auth.attempt', { user: 'erin' })).some(
        (e) => e.success === false && JSON.stringify(e).includes('grafana'),
      ),
    );
  }, 60_000);
});
