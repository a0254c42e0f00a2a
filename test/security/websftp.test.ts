import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type WebLogin, webLogin } from '../helpers/accountWeb.ts';
import { eventually } from '../helpers/audit.ts';
import { waitFor } from '../helpers/cluster.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';
import { type Tamper, webDownload, webUpload } from '../helpers/websftp.ts';

// The web terminal's file transfer takes the web terminal's rules: a session cookie, the session's CSRF token, our
// own Origin, and the one access gate (a login the roles deny and a locked user are refused before the node is
// dialled). Each attack is made for real, and each must leave the node's files untouched.

let f: SshFixture;
let base: string;
let dir: string;
let secret: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }], { secondFactor: 'off' });
  base = `https://${f.cluster.proxy.addr}`;
  await f.role(`metadata: {name: no-me}\nspec:\n  deny: {logins: ["${me}"]}\n`);
  for (const [name, roles] of [
    ['alice', 'ops'],
    ['dora', 'ops,no-me'],
    ['lena', 'ops'],
  ] as const) {
    const r = await f.admin(['users', 'add', name, '--roles', roles, '--logins', me, '--password-stdin'], PASSWORD);
    expect(r.code).toBe(0);
  }
  dir = join(f.dir, 'remote');
  mkdirSync(dir);
  secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'the node keeps this\n');
});
afterAll(async () => f?.close());

async function session(user: string): Promise<WebLogin> {
  const r = await webLogin(base, { username: user, password: PASSWORD });
  expect(r.status).toBe(200);
  return r.session!;
}

const data = new TextEncoder().encode('planted by an attacker\n');

describe('web file transfer refuses what the web terminal refuses', () => {
  test('with the cookie, the CSRF token and our Origin, a file goes up and comes back (the control case)', async () => {
    const alice = await session('alice');
    const up = await webUpload(base, alice, { node: 'node1', login: me, dir, name: 'ok.txt' }, data);
    expect(up.status).toBe(200);
    expect(readFileSync(join(dir, 'ok.txt'), 'utf8')).toBe('planted by an attacker\n');
    const down = await webDownload(base, alice, { node: 'node1', login: me, path: secret });
    expect(down.status).toBe(200);
    expect(down.body.toString()).toBe('the node keeps this\n');
  });

  const attacks: [string, Tamper, number, RegExp][] = [
    ['no session cookie', { cookie: null }, 401, /not logged in/],
    ['a wrong session cookie', { cookie: '__Host-tp_session=forged' }, 401, /not logged in/],
    ['no CSRF token', { csrf: null }, 403, /CSRF/],
    ['a wrong CSRF token', { csrf: 'x'.repeat(32) }, 403, /CSRF/],
    ['a foreign Origin', { origin: 'https://evil.example' }, 403, /cross-site request from https:\/\/evil\.example/],
  ];
  for (const [what, tamper, status, message] of attacks) {
    test(`an upload with ${what} is refused (${status}) and writes nothing`, async () => {
      const alice = await session('alice');
      const name = `planted-${status}-${what.replace(/\W+/g, '-')}.txt`;
      const r = await webUpload(base, alice, { node: 'node1', login: me, dir, name }, data, tamper);
      expect({ status: r.status, error: r.error }).toEqual({ status, error: expect.stringMatching(message) });
      expect(existsSync(join(dir, name))).toBe(false);
    });
    test(`a download with ${what} is refused (${status}) and sends no byte of the file`, async () => {
      const alice = await session('alice');
      const r = await webDownload(base, alice, { node: 'node1', login: me, path: secret }, tamper);
      expect({ status: r.status, error: r.error }).toEqual({ status, error: expect.stringMatching(message) });
      expect(r.body.toString()).not.toContain('the node keeps this');
    });
  }

  test('an upload without any Origin (not a browser we serve) is refused', async () => {
    const alice = await session('alice');
    const r = await webUpload(base, alice, { node: 'node1', login: me, dir, name: 'no-origin.txt' }, data, {
      origin: null,
    });
    expect(r.status).toBe(403);
    expect(existsSync(join(dir, 'no-origin.txt'))).toBe(false);
  });

  test('a login the roles deny is refused by the access gate, both ways, and audited as for the terminal', async () => {
    const dora = await session('dora');
    const denied = `login "${me}" is denied by role "no-me"`;
    const up = await webUpload(base, dora, { node: 'node1', login: me, dir, name: 'dora.txt' }, data);
    expect({ status: up.status, error: up.error }).toEqual({ status: 403, error: denied });
    expect(existsSync(join(dir, 'dora.txt'))).toBe(false);
    const down = await webDownload(base, dora, { node: 'node1', login: me, path: secret });
    expect({ status: down.status, error: down.error }).toEqual({ status: 403, error: denied });
    const e = await eventually(f.cluster.auth.admin, 'auth.attempt', (x) => x.user === 'dora' && x.error === denied);
    expect({ via: e.via, kind: e.kind, login: e.login, target: e.target }).toEqual({
      via: 'web',
      kind: 'node',
      login: me,
      target: 'node1',
    });
  });

  test('a user locked after logging in is refused, both ways', async () => {
    const lena = await session('lena');
    expect((await f.admin(['locks', 'add', '--user', 'lena', '--message', 'files test'])).code).toBe(0);
    await waitFor('the lock at the proxy', async () => !!(await f.cluster.proxy.view.lockFor({ user: 'lena' })));
    const locked = 'user "lena" is locked: files test';
    const up = await webUpload(base, lena, { node: 'node1', login: me, dir, name: 'lena.txt' }, data);
    expect({ status: up.status, error: up.error }).toEqual({ status: 423, error: locked });
    expect(existsSync(join(dir, 'lena.txt'))).toBe(false);
    const down = await webDownload(base, lena, { node: 'node1', login: me, path: secret });
    expect({ status: down.status, error: down.error }).toEqual({ status: 423, error: locked });
  });
});

describe('web file transfer names', () => {
  test('an upload name that is a path, a dot entry or holds CR/LF is refused and writes nothing', async () => {
    const alice = await session('alice');
    for (const name of ['../escape.txt', '..', '.', 'a/b', 'evil\r\nset-cookie: x=1', 'bell\u0007', '']) {
      const r = await webUpload(base, alice, { node: 'node1', login: me, dir, name }, data);
      expect({ name, status: r.status }).toEqual({ name, status: 400 });
    }
    expect(existsSync(join(f.dir, 'escape.txt'))).toBe(false);
  });

  test('a remote file named with CR/LF and quotes downloads under a header that cannot be split', async () => {
    const alice = await session('alice');
    const evil = 'x"\r\nset-cookie: stolen=1;\r\n\r\n<script>.txt';
    writeFileSync(join(dir, evil), 'odd name\n');
    const r = await webDownload(base, alice, { node: 'node1', login: me, path: join(dir, evil) });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('odd name\n');
    expect(r.headers.get('set-cookie')).toBeNull();
    const cd = r.headers.get('content-disposition')!;
    expect(cd).toBe(
      `attachment; filename="x___set-cookie: stolen=1;____<script>.txt"; filename*=UTF-8''x%22%0D%0Aset-cookie%3A%20stolen%3D1%3B%0D%0A%0D%0A%3Cscript%3E.txt`,
    );
  });
});
