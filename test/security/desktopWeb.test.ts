import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { webCall, webLogin } from '../helpers/accountWeb.ts';
import { tpOk } from '../helpers/cli.ts';
import { waitFor } from '../helpers/cluster.ts';
import { openDesktopSocket, rfbHandshake } from '../helpers/desktopSocket.ts';
import { type DesktopTpCluster, startDesktopTpCluster } from '../helpers/desktopTpCluster.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../helpers/xvnc.ts';

// The proxy's desktop WebSocket (/webapi/desktops/<name>/connect) lets through only a same-origin page of a live web
// session whose roles reach the desktop, and ends an open session as soon as a lock lands. Behind it: a real
// `tp start` whose agent serves a real Xvnc (plugin desktop-vnc, VncAuth with the password on the agent only).
if (xvncMissing) console.warn(`SKIPPING the desktop WebSocket tests: ${xvncMissing}`);

const PASSWORD = 'correct horse battery staple';
let c: DesktopTpCluster;
let x: Xvnc;
let base: string;
let cookie: string;

describe.skipIf(xvncMissing !== undefined)('desktop WebSocket', () => {
  beforeAll(async () => {
    x = await startXvnc({ width: 320, height: 200, colour: '#3366cc' });
    const addr = `127.0.0.1:${x.port}`;
    c = await startDesktopTpCluster([
      { name: 'lab1', addr, labels: { env: 'dev' }, passwordFile: x.passwordFile },
      { name: 'lab-prod', addr, labels: { env: 'prod' }, passwordFile: x.passwordFile },
    ]);
    await c.role(
      'metadata: {name: desk-dev}\nspec:\n  options: {desktop_clipboard: false}\n  allow:\n    desktop_labels: {env: dev}\n',
    );
    for (const u of ['dana', 'lena']) await c.user(u, ['desk-dev'], PASSWORD);
    base = `https://${c.proxyAddr}`;
    const login = await webLogin(base, { username: 'dana', password: PASSWORD });
    cookie = login.session!.cookie;
    await waitFor(
      'lab1 online',
      async () =>
        JSON.stringify(
          (await webCall(base, 'GET', '/webapi/ui/resources/desktop', { session: login.session })).body,
        ).includes('"online":true'),
      20_000,
    );
  });
  afterAll(async () => {
    await c?.close();
    await x?.close();
  });

  test('a same-origin page of a live session reaches the desktop: ready with the role policy, then RFB from Xvnc', async () => {
    const d = openDesktopSocket(c.proxyAddr, 'lab1', { origin: base, cookie });
    const first = await d.first;
    expect(first).toMatchObject({
      kind: 'frame',
      frame: { type: 'ready', desktop: 'lab1', clipboard: false, viewOnly: false },
    });
    expect(await rfbHandshake(d)).toMatchObject({ width: 320, height: 200 });
    d.ws.close();
    await d.closed;
  });

  test('no session cookie: refused with 401 before any upgrade', async () => {
    const d = openDesktopSocket(c.proxyAddr, 'lab1', { origin: base });
    expect(await d.first).toEqual({ kind: 'http', status: 401 });
  });

  test('a foreign Origin, or none, is refused with 403 even with a valid cookie (cross-site WebSocket hijacking)', async () => {
    const evil = openDesktopSocket(c.proxyAddr, 'lab1', { origin: 'https://evil.example', cookie });
    expect(await evil.first).toEqual({ kind: 'http', status: 403 });
    const none = openDesktopSocket(c.proxyAddr, 'lab1', { cookie });
    expect(await none.first).toEqual({ kind: 'http', status: 403 });
  });

  test('a desktop whose labels the roles do not reach is refused, says why, and is audited', async () => {
    const d = openDesktopSocket(c.proxyAddr, 'lab-prod', { origin: base, cookie });
    const first = await d.first;
    expect(first.kind).toBe('frame');
    expect(first.kind === 'frame' && first.frame).toMatchObject({ type: 'error' });
    expect(first.kind === 'frame' && first.frame.message).toContain('access to desktop "lab-prod" is not allowed');
    expect((await d.closed).code).toBe(4000);
    const refusal = async () =>
      (
        JSON.parse(
          await tpOk(['audit', 'search', '--type', 'auth.attempt', '--user', 'dana', '--format', 'json', ...c.admin]),
        ) as Record<string, unknown>[]
      ).find((e) => e.kind === 'desktop');
    await waitFor('the refusal in the audit log', async () => (await refusal()) !== undefined);
    expect(await refusal()).toMatchObject({ success: false, via: 'web', target: 'lab-prod' });
  });

  test('GET /webapi/desktops/<name>: the protocol and the session rights; refusals say why, without a session or cross-site too', async () => {
    const info = (name: string, h: Record<string, string>) =>
      fetch(`${base}/webapi/desktops/${name}`, { headers: h, tls: { rejectUnauthorized: false } } as RequestInit).then(
        async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown> & { error?: { message?: string } },
        }),
      );
    expect(await info('lab1', { cookie })).toEqual({
      status: 200,
      body: { name: 'lab1', protocol: 'vnc', clipboard: false, viewOnly: false },
    });
    const denied = await info('lab-prod', { cookie });
    expect(denied.status).toBe(403);
    expect(denied.body.error?.message).toContain('access to desktop "lab-prod" is not allowed');
    expect((await info('lab1', {})).status).toBe(401);
    const evil = await info('lab1', { cookie, origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body.error?.message).toContain('cross-site request');
  });

  test('a lock on the user ends an open desktop session within 1 s', async () => {
    const login = await webLogin(base, { username: 'lena', password: PASSWORD });
    const d = openDesktopSocket(c.proxyAddr, 'lab1', { origin: base, cookie: login.session!.cookie });
    expect((await d.first).kind).toBe('frame');
    await rfbHandshake(d);
    await tpOk(['locks', 'add', '--user', 'lena', '--message', 'offboarded', ...c.admin]);
    const locked = Date.now();
    const closed = await d.closed;
    expect(Date.now() - locked).toBeLessThan(1000);
    // Both the proxy (4003, with the lock's message) and the agent (the stream ends) watch locks; either may be first.
    expect([4003, 1000]).toContain(closed.code);
    if (closed.code === 4003) expect(closed.reason).toContain('offboarded');
  });
});
