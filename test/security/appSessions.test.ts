// Attacks on the browser path of web apps (issue 20): an app session cookie replayed on another app's host, a launch
// replayed or forged, an open redirect through the launcher's return path, identity headers sent by the client, a
// Host that is not the connection's app host, and an app session outliving its web session.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../../core/api/client.ts';
import { AppCertSchema } from '../../core/api/schemas.ts';
import { type WebLogin, webCall, webLogin } from '../helpers/accountWeb.ts';
import {
  APP_PASSWORD,
  type AppBrowserCluster,
  rawAppRequest,
  startAppBrowserCluster,
} from '../helpers/appBrowserCluster.ts';
import { clientKeys, waitFor } from '../helpers/cluster.ts';
import { userTlsCert } from '../helpers/dbca.ts';

let a: AppBrowserCluster;
let web: WebLogin;

const newState = () => randomBytes(32).toString('base64url');

/** Asks the launcher for a launch of `app` (as the logged-in browser's page does): the app host URL it answers. */
async function launch(app: string, state: string | undefined, path = '/', session = web): Promise<URL> {
  const r = await webCall(a.base, 'POST', '/webapi/apps/launch', { body: { app, state, path }, session });
  expect(r.status).toBe(200);
  return new URL(String(r.body.url));
}

/** The hand-off POST an app host's /tp-launch page makes: the answer's status line, headers and body. */
async function handOff(
  host: string,
  o: { cookieState?: string; state: string; value: string; path?: string; origin?: string },
) {
  const body = JSON.stringify({ state: o.state, value: o.value, path: o.path ?? '/' });
  const cookie = o.cookieState ? `Cookie: __Host-tp_app_state=${o.cookieState}\r\n` : '';
  return rawAppRequest(
    a.port,
    host,
    `POST /tp-launch HTTP/1.1\r\nHost: ${host}:${a.port}\r\nOrigin: ${o.origin ?? `https://${host}:${a.port}`}\r\n${cookie}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A full launch of `app` for the web session: the app session cookie value its host set. */
async function appSession(app: string, session = web): Promise<string> {
  const state = newState();
  const url = await launch(app, state, '/', session);
  const f = new URLSearchParams(url.hash.slice(1));
  const answer = await handOff(url.hostname, { cookieState: state, state: f.get('state')!, value: f.get('value')! });
  expect(answer).toStartWith('HTTP/1.1 200');
  const m = /Set-Cookie: __Host-tp_app_session=([^;]+); Path=\/; Secure; HttpOnly; SameSite=Lax/.exec(answer);
  expect(m).not.toBeNull();
  return m![1]!;
}

const get = (host: string, path: string, extra = '') =>
  rawAppRequest(a.port, host, `GET ${path} HTTP/1.1\r\nHost: ${host}:${a.port}\r\n${extra}Connection: close\r\n\r\n`);

describe('web app sessions under attack', () => {
  beforeAll(async () => {
    a = await startAppBrowserCluster();
    const login = await webLogin(a.base, { username: 'alice', password: APP_PASSWORD });
    web = login.session!;
  }, 90_000);
  afterAll(async () => {
    await a?.close();
  });

  test('an app session cookie from one app is refused on another app host and never reaches its upstream', async () => {
    const cookie = await appSession('grafana');
    expect(await get('grafana.localhost', '/echo', `Cookie: __Host-tp_app_session=${cookie}\r\n`)).toStartWith(
      'HTTP/1.1 200',
    );
    const before = a.seen.filter((s) => s.app === 'billing').length;
    const replay = await get('billing.localhost', '/echo', `Cookie: __Host-tp_app_session=${cookie}\r\n`);
    expect(replay).toStartWith('HTTP/1.1 302');
    expect(replay).toContain(`Location: https://localhost:${a.port}/web/launch/billing?state=`);
    expect(a.seen.filter((s) => s.app === 'billing').length).toBe(before);
  });

  test('a launch is activated once, by the browser holding its state: replayed, forged or cross-origin it is refused', async () => {
    const state = newState();
    const f = new URLSearchParams((await launch('grafana', state)).hash.slice(1));
    const value = f.get('value')!;
    // Another browser's state cookie (a link with someone else's launch), or none at all.
    expect(await handOff('grafana.localhost', { cookieState: newState(), state, value })).toStartWith('HTTP/1.1 403');
    expect(await handOff('grafana.localhost', { state, value })).toStartWith('HTTP/1.1 403');
    // A forged state matching a forged cookie: auth knows the launch under its own state only.
    const forged = newState();
    expect(await handOff('grafana.localhost', { cookieState: forged, state: forged, value })).toStartWith(
      'HTTP/1.1 403',
    );
    // Posted from another origin.
    const evil = await handOff('grafana.localhost', {
      cookieState: state,
      state,
      value,
      origin: 'https://evil.example',
    });
    expect(evil).toStartWith('HTTP/1.1 403');
    // A value auth never issued.
    const made = randomBytes(32).toString('base64url');
    expect(await handOff('grafana.localhost', { cookieState: state, state, value: made })).toStartWith('HTTP/1.1 403');
    // Before activation the value is no session; the real hand-off works once, then never again.
    expect(await get('grafana.localhost', '/', `Cookie: __Host-tp_app_session=${value}\r\n`)).toStartWith(
      'HTTP/1.1 302',
    );
    expect(await handOff('grafana.localhost', { cookieState: state, state, value })).toStartWith('HTTP/1.1 200');
    expect(await handOff('grafana.localhost', { cookieState: state, state, value })).toStartWith('HTTP/1.1 403');
    // Handed to another app's host, a launch for grafana sets nothing there.
    const s2 = newState();
    const f2 = new URLSearchParams((await launch('grafana', s2)).hash.slice(1));
    const other = await handOff('billing.localhost', { cookieState: s2, state: s2, value: f2.get('value')! });
    expect(other).toStartWith('HTTP/1.1 403');
    expect(other).not.toContain('__Host-tp_app_session=');
  });

  test("the launcher's return path never leaves the app's host (no open redirect)", async () => {
    for (const path of [
      '//evil.example/x',
      'https://evil.example/',
      '/\\evil.example',
      'javascript:alert(1)',
      '/a\r\nb',
    ]) {
      const url = await launch('grafana', newState(), path);
      expect(url.host).toBe(`grafana.localhost:${a.port}`);
      expect(new URLSearchParams(url.hash.slice(1)).get('path')).toBe('/');
      const plain = await launch('grafana', undefined, path);
      expect(plain.href).toBe(`https://grafana.localhost:${a.port}/`);
    }
    expect((await launch('grafana', undefined, '/d/1?x=2')).href).toBe(`https://grafana.localhost:${a.port}/d/1?x=2`);
    // The hand-off answers only a path on its own host, whatever the fragment said.
    const state = newState();
    const f = new URLSearchParams((await launch('grafana', state)).hash.slice(1));
    const answer = await handOff('grafana.localhost', {
      cookieState: state,
      state,
      value: f.get('value')!,
      path: '//evil.example/x',
    });
    expect(answer).toStartWith('HTTP/1.1 200');
    expect(answer).toEndWith('{"path":"/"}');
    // The app host's own redirect to the launcher carries a path, never a host.
    const r = await get('grafana.localhost', '//evil.example/x');
    expect(r).toContain(`Location: https://localhost:${a.port}/web/launch/grafana?state=`);
    expect(r).toContain('&path=%2F\r\n');
  });

  test('a client-sent tp-jwt-assertion or X-Forwarded-User never reaches the upstream, nor do tp cookies', async () => {
    const cookie = await appSession('grafana');
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
    const r = await get(
      'grafana.localhost',
      '/echo',
      `Cookie: theme=dark; __Host-tp_app_session=${cookie}\r\ntp-jwt-assertion: ${forged}\r\nX-Forwarded-User: admin\r\nX-Tp-User: admin\r\n`,
    );
    expect(r).toStartWith('HTTP/1.1 200');
    const seen = a.seen.filter((s) => s.app === 'grafana' && s.path === '/echo').at(-1)!;
    expect(seen.headers['tp-jwt-assertion']).not.toBe(forged);
    expect(seen.tokenError).toBeUndefined();
    expect(seen.claims?.sub).toBe('alice');
    expect(seen.headers['x-forwarded-user']).toBeUndefined();
    expect(seen.headers['x-tp-user']).toBeUndefined();
    expect(seen.headers.cookie).toBe('theme=dark');
  });

  test('a Host other than the connection’s app host is refused (a cookie cannot be steered to another app)', async () => {
    const cookie = await appSession('grafana');
    const before = a.seen.length;
    const r = await rawAppRequest(
      a.port,
      'grafana.localhost',
      `GET /echo HTTP/1.1\r\nHost: billing.localhost:${a.port}\r\nCookie: __Host-tp_app_session=${cookie}\r\nConnection: close\r\n\r\n`,
    );
    expect(r).toStartWith('HTTP/1.1 421');
    expect(a.seen.length).toBe(before);
  });

  test('logging out of the web UI ends the app sessions made from it', async () => {
    const own = (await webLogin(a.base, { username: 'alice', password: APP_PASSWORD })).session!;
    const cookie = await appSession('grafana', own);
    const with_ = `Cookie: __Host-tp_app_session=${cookie}\r\n`;
    expect(await get('grafana.localhost', '/', with_)).toStartWith('HTTP/1.1 200');
    expect((await webCall(a.base, 'DELETE', '/webapi/sessions/current', { session: own })).status).toBe(200);
    await waitFor('the app session to end with its web session', async () =>
      (await get('grafana.localhost', '/', with_)).startsWith('HTTP/1.1 302'),
    );
  });

  test('an app certificate (curl) reaches its own app host without a cookie and is refused on another app host', async () => {
    const alice = await userTlsCert(a.c.auth, 'alice');
    const k = clientKeys();
    const proxy = new ApiClient([a.c.proxy.addr], { ca: a.tlsCa, cert: alice.pem, key: alice.key });
    const body = { app: 'grafana', tlsPublicKey: k.tlsPublicKey, publicAddr: `grafana.localhost:${a.port}` };
    const cert = await proxy.send(AppCertSchema, 'POST', '/webapi/auth/v1/apps/cert', body);
    const creds = { pem: cert.cert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    const req = (host: string) =>
      rawAppRequest(a.port, host, `GET /echo HTTP/1.1\r\nHost: ${host}:${a.port}\r\nConnection: close\r\n\r\n`, creds);
    const own = await req('grafana.localhost');
    expect(own).toStartWith('HTTP/1.1 200');
    expect(a.seen.filter((s) => s.app === 'grafana').at(-1)?.claims?.sub).toBe('alice');
    const before = a.seen.filter((s) => s.app === 'billing').length;
    const other = await req('billing.localhost');
    expect(other).toStartWith('HTTP/1.1 403');
    expect(other).toContain('this certificate is for app "grafana"');
    expect(a.seen.filter((s) => s.app === 'billing').length).toBe(before);
  });

  test('a connection to an app host that never sends a request head is closed at the header deadline', async () => {
    const { connect } = await import('node:tls');
    const s = connect({ host: '127.0.0.1', port: a.port, servername: 'grafana.localhost', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    s.write('GET / HTTP/1.1\r\nHost: grafana.localhost\r\n');
    const t0 = Date.now();
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 40_000);
});
