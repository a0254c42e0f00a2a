import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { withStandInDesktops } from '../fixtures/desktopStandIn.ts';
import { webLogin } from '../helpers/accountWeb.ts';
import { waitFor } from '../helpers/cluster.ts';
import { openDesktopSocket, rfbHandshake } from '../helpers/desktopSocket.ts';
import { auditEvents, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';
import { haveXvnc, startXvnc, type XvncDesktop } from '../helpers/xvncDesktop.ts';

// The proxy's desktop WebSocket (/webapi/desktops/<name>/connect) lets through only a same-origin page of a live web
// session whose roles reach the desktop, and ends an open session as soon as a lock lands. Behind it: a real Xvnc,
// reached through a real agent's tunnel (a stand-in plugin that splices to the VNC port).
if (!haveXvnc()) console.warn('SKIPPING the desktop WebSocket tests: Xvnc, xsetroot or xterm is not installed');

let f: SshFixture;
let x: XvncDesktop;
let base: string;
let cookie: string;

describe.skipIf(!haveXvnc())('desktop WebSocket', () => {
  beforeAll(async () => {
    x = await startXvnc({ width: 320, height: 200, rootColour: '#3366cc' });
    const served = () => [
      { name: 'lab1', labels: { env: 'dev' }, addr: x.addr },
      { name: 'lab-prod', labels: { env: 'prod' }, addr: x.addr },
    ];
    f = await startSshFixture([{ name: 'deskhost' }], { secondFactor: 'off' }, undefined, withStandInDesktops(served));
    await f.role(
      'metadata: {name: desk-dev}\nspec:\n  options: {desktop_clipboard: false}\n  allow:\n    desktop_labels: {env: dev}\n',
    );
    for (const u of ['dana', 'lena']) {
      const add = await f.admin(['users', 'add', u, '--roles', 'desk-dev', '--password-stdin'], PASSWORD);
      expect(add.code).toBe(0);
    }
    await waitFor(
      'the desktops at the proxy',
      async () => (await f.cluster.proxy.view.resources('desktop')).length === 2,
    );
    base = `https://${f.cluster.proxy.addr}`;
    const login = await webLogin(base, { username: 'dana', password: PASSWORD });
    cookie = login.session!.cookie;
  });
  afterAll(async () => {
    await f?.close();
    await x?.close();
  });

  test('a same-origin page of a live session reaches the desktop: ready with the role policy, then RFB from Xvnc', async () => {
    const d = openDesktopSocket(f.cluster.proxy.addr, 'lab1', { origin: base, cookie });
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
    const d = openDesktopSocket(f.cluster.proxy.addr, 'lab1', { origin: base });
    expect(await d.first).toEqual({ kind: 'http', status: 401 });
  });

  test('a foreign Origin, or none, is refused with 403 even with a valid cookie (cross-site WebSocket hijacking)', async () => {
    const evil = openDesktopSocket(f.cluster.proxy.addr, 'lab1', { origin: 'https://evil.example', cookie });
    expect(await evil.first).toEqual({ kind: 'http', status: 403 });
    const none = openDesktopSocket(f.cluster.proxy.addr, 'lab1', { cookie });
    expect(await none.first).toEqual({ kind: 'http', status: 403 });
  });

  test('a desktop whose labels the roles do not reach is refused, says why, and is audited', async () => {
    const d = openDesktopSocket(f.cluster.proxy.addr, 'lab-prod', { origin: base, cookie });
    const first = await d.first;
    expect(first.kind).toBe('frame');
    expect(first.kind === 'frame' && first.frame).toMatchObject({ type: 'error' });
    expect(first.kind === 'frame' && first.frame.message).toContain('access to desktop "lab-prod" is not allowed');
    expect((await d.closed).code).toBe(4000);
    const refusal = async () =>
      (await auditEvents(f, 'auth.attempt')).find((e) => e.user === 'dana' && e.kind === 'desktop');
    await waitFor('the refusal in the audit log', async () => (await refusal()) !== undefined);
    expect(await refusal()).toMatchObject({ success: false, via: 'web', target: 'lab-prod' });
  });

  test('a lock on the user ends an open desktop session within 1 s', async () => {
    const login = await webLogin(base, { username: 'lena', password: PASSWORD });
    const d = openDesktopSocket(f.cluster.proxy.addr, 'lab1', { origin: base, cookie: login.session!.cookie });
    expect((await d.first).kind).toBe('frame');
    await rfbHandshake(d);
    const lock = await f.admin(['locks', 'add', '--user', 'lena', '--message', 'offboarded']);
    expect(lock.code).toBe(0);
    const locked = Date.now();
    const closed = await d.closed;
    expect(Date.now() - locked).toBeLessThan(1000);
    expect(closed.code).toBe(4003);
    expect(closed.reason).toContain('offboarded');
  });
});
