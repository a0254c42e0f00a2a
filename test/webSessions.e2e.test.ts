import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ApiClient } from '../core/api/client.ts';
import { AckSchema } from '../core/api/schemas.ts';
import { profileKeysDir } from '../core/client/profile.ts';
import { waitFor } from './helpers/cluster.ts';
import { me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The web session's guard rails, checked at the HTTP level: cookie flags, CSRF, same-origin checks, expiry, and the
// terminal WebSocket's refusals. (The browser flows themselves are in webui.e2e.test.ts.)
const PASSWORD = 'correct horse battery staple';
let f: SshFixture;
let base: string;

type Answer = { status: number; body: Record<string, unknown> & { error?: { message: string } }; cookie?: string };

async function call(
  method: string,
  path: string,
  o: { body?: unknown; cookie?: string; csrf?: string; origin?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-csrf-token'] = o.csrf;
  if (o.origin) headers.origin = o.origin;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  return {
    status: res.status,
    body: (await res.json()) as Answer['body'],
    cookie: res.headers.get('set-cookie') ?? undefined,
  };
}

async function webLogin(user: string): Promise<{ cookie: string; csrf: string; raw: string }> {
  const r = await call('POST', '/webapi/sessions', { body: { username: user, password: PASSWORD } });
  expect(r.status).toBe(200);
  return { raw: r.cookie!, cookie: r.cookie!.split(';')[0]!, csrf: String(r.body.csrf) };
}

/** Opens the terminal WebSocket and returns the first text frame, or the HTTP status of a refused upgrade. */
function terminal(q: Record<string, string>, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://${base.slice('https://'.length)}/webapi/ui/terminal?${new URLSearchParams(q)}`, {
      headers,
      rejectUnauthorized: false,
    });
    ws.on('message', (data, binary) => {
      if (!binary) {
        resolve(String(data));
        ws.close();
      }
    });
    ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.on('error', (err) => resolve(`error ${err.message}`));
  });
}

beforeAll(async () => {
  f = await startSshFixture([{ name: 'ws-node' }], { secondFactor: 'off' }, { webSessionTtlMs: 60_000 });
  base = `https://${f.cluster.proxy.addr}`;
  await f.user('carol', ['ops']);
  await f.user('dave', ['ops'], { logins: ['nobody-here'] });
});
afterAll(async () => f?.close());

describe('web sessions', () => {
  test('login sets a host-only, HTTPS-only, script-invisible, same-site cookie; no certificate reaches the page', async () => {
    const s = await webLogin('carol');
    expect(s.raw).toMatch(
      /^__Host-tp_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    const who = await call('GET', '/webapi/sessions/current', { cookie: s.cookie });
    expect(who.body).toMatchObject({ loggedIn: true, user: 'carol', logins: [me] });
    expect(JSON.stringify(who.body)).not.toMatch(/BEGIN|cert|session=/i);
    expect((await call('GET', '/webapi/sessions/current')).body).toEqual({ loggedIn: false });
  });

  test('a state-changing call without the CSRF token, or with a wrong one, is refused', async () => {
    const s = await webLogin('carol');
    const none = await call('DELETE', '/webapi/sessions/current', { cookie: s.cookie });
    expect(none.status).toBe(403);
    expect(none.body.error?.message).toContain('CSRF');
    const wrong = await call('DELETE', '/webapi/sessions/current', { cookie: s.cookie, csrf: `${s.csrf}x` });
    expect(wrong.status).toBe(403);
    // The session is still alive; with the token, logout works and ends it.
    expect((await call('GET', '/webapi/ui/nodes', { cookie: s.cookie })).status).toBe(200);
    const out = await call('DELETE', '/webapi/sessions/current', { cookie: s.cookie, csrf: s.csrf });
    expect(out.status).toBe(200);
    expect(out.cookie).toContain('Max-Age=0');
    const after = await call('GET', '/webapi/ui/nodes', { cookie: s.cookie });
    expect(after.status).toBe(401);
    expect(after.body.error?.message).toContain('log in again');
  });

  test('a login or a change posted from another site is refused', async () => {
    const r = await call('POST', '/webapi/sessions', {
      body: { username: 'carol', password: PASSWORD },
      origin: 'https://evil.example',
    });
    expect(r.status).toBe(403);
    expect(r.body.error?.message).toContain('cross-site request from https://evil.example refused');
    const s = await webLogin('carol');
    const change = await call('POST', '/webapi/ui/account/password', {
      cookie: s.cookie,
      csrf: s.csrf,
      origin: 'https://evil.example',
      body: { oldPassword: PASSWORD, newPassword: 'x'.repeat(20) },
    });
    expect(change.status).toBe(403);
  });

  test('sessions are kept by auth: a proxy restart logs nobody out, and a logout is final', async () => {
    const s = await webLogin('carol');
    // Auth keeps the session under a hash of the token: the cookie value is nowhere in the backend.
    const token = s.cookie.split('=')[1]!;
    const rows = await f.cluster.auth.server.service.deps.backend.range('/web_sessions/');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.key.includes(token) || r.value.includes(token))).toBe(false);
    await f.cluster.restartProxy();
    base = `https://${f.cluster.proxy.addr}`;
    expect((await call('GET', '/webapi/ui/nodes', { cookie: s.cookie })).status).toBe(200);
    expect((await call('DELETE', '/webapi/sessions/current', { cookie: s.cookie, csrf: s.csrf })).status).toBe(200);
    await f.cluster.restartProxy();
    base = `https://${f.cluster.proxy.addr}`;
    expect((await call('GET', '/webapi/ui/nodes', { cookie: s.cookie })).status).toBe(401);
  });

  test('at auth, only proxies may read or write web sessions (they hold private keys)', async () => {
    const hash = 'ab'.repeat(32);
    await expect(f.cluster.auth.anonymous.get(AckSchema, `/v1/web_sessions/${hash}`)).rejects.toThrow(
      'web sessions are for proxies',
    );
    // A logged-in user calling through the proxy's admin forwarding is refused too.
    const carol = await f.user('carol2', ['ops']);
    const dir = profileKeysDir(f.cluster.proxy.addr, carol.home);
    const read = (n: string) => readFileSync(join(dir, n), 'utf8');
    const asCarol = new ApiClient(
      [f.cluster.proxy.addr],
      { ca: read('cas.pem'), cert: read('tls.crt'), key: read('tls.key') },
      15_000,
      '/webapi/auth',
    );
    await expect(asCarol.get(AckSchema, `/v1/web_sessions/${hash}`)).rejects.toThrow('web sessions are for proxies');
    await expect(asCarol.del(`/v1/web_sessions/${hash}`)).rejects.toThrow('web sessions are for proxies');
  });

  test('the node list pages and filters on the proxy', async () => {
    const s = await webLogin('carol');
    const page = await call('GET', '/webapi/ui/nodes?q=ws-&limit=1', { cookie: s.cookie });
    expect(page.body).toMatchObject({ total: 1, offset: 0, limit: 1 });
    expect((page.body.items as { name: string }[])[0]!.name).toBe('ws-node');
    expect((await call('GET', '/webapi/ui/nodes?q=nothing-like-this', { cookie: s.cookie })).body.total).toBe(0);
    const bad = await call('GET', '/webapi/ui/nodes?label=novalue', { cookie: s.cookie });
    expect(bad.status).toBe(400);
  });

  test('the terminal WebSocket needs a live session and our origin', async () => {
    const s = await webLogin('carol');
    const q = { node: 'ws-node', login: me };
    expect(await terminal(q, { origin: base })).toBe('HTTP 401');
    expect(await terminal(q, { origin: 'https://evil.example', cookie: s.cookie })).toBe('HTTP 403');
    expect(await terminal(q, { cookie: s.cookie })).toBe('HTTP 403');
    expect(JSON.parse(await terminal(q, { origin: base, cookie: s.cookie }))).toMatchObject({
      type: 'ready',
      node: 'ws-node',
      login: me,
    });
  });

  test('a login the roles do not allow, and a locked user, get an error frame, and it is audited', async () => {
    const d = await webLogin('dave');
    const denied = JSON.parse(await terminal({ node: 'ws-node', login: 'root' }, { origin: base, cookie: d.cookie }));
    expect(denied).toMatchObject({ type: 'error' });
    expect(denied.message).toContain('root');
    const s = await webLogin('carol');
    expect((await f.admin(['locks', 'add', '--user', 'carol', '--message', 'incident 7'])).code).toBe(0);
    await waitFor('the lock to reach the proxy', async () => {
      const r = JSON.parse(await terminal({ node: 'ws-node', login: me }, { origin: base, cookie: s.cookie }));
      return r.type === 'error' && String(r.message).includes('incident 7');
    });
    // The web API refuses the locked user's session too; logging out still works.
    const nodes = await call('GET', '/webapi/ui/nodes', { cookie: s.cookie });
    expect(nodes.status).toBe(423);
    expect(nodes.body.error?.message).toContain('incident 7');
    expect((await call('DELETE', '/webapi/sessions/current', { cookie: s.cookie, csrf: s.csrf })).status).toBe(200);
    const events = await f.cluster.auth.client.searchEvents(
      new URLSearchParams({ type: 'auth.attempt', limit: '100' }),
    );
    expect(events.some((e) => e.user === 'dave' && !e.success)).toBe(true);
  });
});

describe('web session expiry', () => {
  test('a session ends with its certificates: calls then say to log in again', async () => {
    await using short = await startSshFixture([], { secondFactor: 'off' }, { webSessionTtlMs: 1500 });
    await short.user('erin', ['ops']);
    const r = await fetch(`https://${short.cluster.proxy.addr}/webapi/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'erin', password: PASSWORD }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    const nodes = () =>
      fetch(`https://${short.cluster.proxy.addr}/webapi/ui/nodes`, {
        headers: { cookie },
        tls: { rejectUnauthorized: false },
      } as RequestInit);
    expect((await nodes()).status).toBe(200);
    await Bun.sleep(1600);
    const after = await nodes();
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { message: string } }).error.message).toContain('expired');
  });
});
