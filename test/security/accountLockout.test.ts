import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { type WebLogin, webCall, webLogin } from '../helpers/accountWeb.ts';
import { eventually } from '../helpers/audit.ts';
import { type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Issue 15, lower findings: a deleted or brute-force-locked-out user's certificates kept working until they expired,
// and the lockout message told which user names exist.
let f: SshFixture;
let base: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'lk1' }]);
  base = `https://${f.cluster.proxy.addr}`;
});
afterAll(async () => f.close());

/** A user logged in twice: `tp login` (CLI certificates) and a browser session. */
async function loggedIn(name: string): Promise<{ cli: FixtureUser; web: WebLogin }> {
  const cli = await f.user(name, ['ops']);
  const r = await webLogin(base, { username: name, password: PASSWORD });
  expect(r.status).toBe(200);
  expect((await cli.tp(['ssh', 'lk1', 'echo works'])).stdout).toBe('works\n');
  expect((await webCall(base, 'GET', '/webapi/ui/nodes', { session: r.session })).status).toBe(200);
  return { cli, web: r.session! };
}

/** Starts a long command on the node and resolves once it has printed its first line. */
async function liveSession(u: FixtureUser) {
  const child = Bun.spawn(
    [process.execPath, join(import.meta.dir, '..', '..', 'cmd', 'tp.ts'), 'ssh', 'lk1', 'echo started; sleep 30'],
    { env: { ...process.env, ...u.env }, stdout: 'pipe', stderr: 'pipe' },
  );
  const first = await child.stdout.getReader().read();
  expect(new TextDecoder().decode(first.value)).toBe('started\n');
  return child;
}

/** The certificates are refused at once: by the relay (`tp ssh`), by the node (the live session ends) and on the web. */
async function certificatesRefused(u: { cli: FixtureUser; web: WebLogin }, live: Bun.Subprocess, why: RegExp) {
  const started = Date.now();
  expect(await live.exited).toBe(255);
  expect(Date.now() - started).toBeLessThan(10_000);
  const r = await u.cli.tp(['ssh', 'lk1', 'echo should-not-run']);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(255);
  expect(r.stderr).toMatch(why);
  const web = await webCall(base, 'GET', '/webapi/ui/nodes', { session: u.web });
  expect(web.status).toBe(423);
  expect(web.body.error?.message).toMatch(why);
}

describe('locks follow the user', () => {
  test("deleting a user stops its certificates at once, and the name is not handed to someone else's certificates", async () => {
    const dee = await loggedIn('dee');
    const live = await liveSession(dee.cli);
    expect((await f.admin(['users', 'rm', 'dee'])).code).toBe(0);
    await certificatesRefused(
      dee,
      live,
      /user "dee" is locked: user deleted by .*; certificates issued to it are refused/,
    );
    const again = await f.admin(['users', 'add', 'dee', '--roles', 'ops', '--password-stdin'], PASSWORD);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('a user "dee" was deleted and its certificates are locked until');
    expect(again.stderr).toContain('tp locks rm');
  });

  test('a brute-force lockout locks the certificates the user already holds, until the lockout ends', async () => {
    const lou = await loggedIn('lou');
    const live = await liveSession(lou.cli);
    for (let i = 0; i < 5; i++)
      expect((await webLogin(base, { username: 'lou', password: `wrong password ${i}` })).status).toBe(403);
    await certificatesRefused(lou, live, /user "lou" is locked: too many failed sign-ins; locked out until/);
    const locks = JSON.parse((await f.admin(['locks', 'ls', '--format', 'json'])).stdout) as {
      target: { user?: string };
      expires?: string | number;
    }[];
    const lock = locks.find((l) => l.target.user === 'lou');
    const user = (await f.cluster.auth.client.listUsers()).find((u) => u.name === 'lou')!;
    expect(user.lockedUntil).toBeDefined();
    expect(new Date(lock!.expires!).getTime()).toBe(new Date(user.lockedUntil!).getTime());
    await eventually(f.cluster.auth.admin, 'user.locked_out', (e) => e.user === 'lou' && typeof e.lock_id === 'string');
  });
});

describe('the lockout tells nothing about which names exist', () => {
  test('an unknown name is locked out after the same failures, with the same message and status', async () => {
    await f.user('kim', ['ops']);
    const answers = async (username: string) => {
      const out: { status: number; message?: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await webLogin(base, { username, password: `not the password ${i}` });
        out.push({ status: r.status, message: r.body.error?.message });
      }
      return out;
    };
    const known = await answers('kim');
    const unknown = await answers('nobody-here');
    const shape = (a: { status: number; message?: string }[], name: string) =>
      a.map((x) => ({ status: x.status, message: x.message?.replace(name, 'NAME').replace(/\d{4}-\S+Z/, 'TIME') }));
    expect(shape(unknown, 'nobody-here')).toEqual(shape(known, 'kim'));
    expect(known.at(-1)).toMatchObject({ status: 423 });
    expect(known.at(-1)!.message).toMatch(/^account "kim" is locked until \S+ after too many failed logins$/);
  });
});
