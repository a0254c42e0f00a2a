import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliResult, run, tp, tpSpawn } from './helpers/cli.ts';
import { type FixtureUser, me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The command line as scripts see it: each exit code of the README's table produced by a real case, usage
// mistakes refused everywhere, and output in a pipe free of colour and trailing spaces.

let f: SshFixture;
let alice: FixtureUser;
const ESC = '\x1b';

beforeAll(async () => {
  f = await startSshFixture([{ name: 'n1' }]);
  alice = await f.user('alice', ['ops']);
  await f.user('bob', ['admin']);
});
afterAll(async () => {
  // Known intermittent fault (seen once in a full run, never alone): closing the cluster after the proxy restart of
  // the last test can hang for a minute. Bounded here so teardown never fails the suite; said loudly when it happens.
  const closed = f.close().then(() => true);
  const inTime = await Promise.race([closed, Bun.sleep(20_000).then(() => false)]);
  if (!inTime) console.error('!!! cliContract: the test cluster did not close within 20 s after a proxy restart');
}, 30_000);

const admin = (args: string[], stdin?: string) => f.admin(args, stdin);
/** A tp run with an empty TP_HOME: nobody logged in. */
const stranger = (args: string[], stdin?: string) =>
  tp(args, { env: { TP_HOME: mkdtempSync(join(f.dir, 'home-none-')) }, stdin });
const login = (user: string, password: string, extra: string[] = []) =>
  stranger(
    ['login', '--proxy', f.cluster.proxy.addr, '--user', user, '--password-stdin', '--insecure', ...extra],
    password,
  );

/** The code, one "error: ..." line on stderr (after warnings; usage after it for usage mistakes), no colour. */
function expectExit(r: CliResult, code: number, message: string | RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({
    code,
    stderr: expect.stringMatching(/^(warning: .*\n)*error: /),
  });
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr + r.stdout).not.toContain(ESC);
}

describe('exit codes (README table, core/errors.ts)', () => {
  test('2: unknown flag, typo in a command, missing argument, bad value; the usage goes to stderr', async () => {
    const flag = await login('alice', PASSWORD, ['--usr', 'dave']);
    expectExit(flag, 2, 'error: unknown flag --usr; did you mean --user?\nusage: tp login [options]\n');
    expect(flag.stdout).toBe('');
    const formt = await alice.tp(['ls', '--formt', 'json']);
    expectExit(formt, 2, 'unknown flag --formt; did you mean --format?');
    const typo = await admin(['rolse', 'ls']);
    expectExit(typo, 2, 'unknown command "rolse" for tp; did you mean "roles"?');
    expect(typo.stdout).toBe('');
    expectExit(await admin(['roles', 'gte', 'admin']), 2, 'unknown command "gte" for tp roles; did you mean "get"?');
    const missing = await admin(['roles', 'rm']);
    expectExit(missing, 2, 'missing argument NAME');
    expect(missing.stderr).toContain('usage: tp roles rm [options] NAME\n');
    expectExit(await alice.tp(['ls', '--format', 'xml']), 2, '--format must be text, json or yaml');
    expectExit(await alice.tp(['ssh', '-X', 'n1']), 2, 'unknown flag -X');
    expectExit(await alice.tp(['scp', 'only-one']), 2, 'needs a source and a destination');
  });

  test('2: --ca-cert naming a missing file says so (no raw ENOENT)', async () => {
    const r = await login('alice', PASSWORD, ['--ca-cert', '/nonexistent/ca.pem']);
    expectExit(r, 2, 'error: --ca-cert /nonexistent/ca.pem: no such file');
    expect(r.stderr).not.toContain('ENOENT');
  });

  test('3: not found', async () => {
    expectExit(await admin(['roles', 'get', 'no-such-role']), 3, 'not found');
  });

  test('4: already exists, and in use (a role still held)', async () => {
    expectExit(await admin(['users', 'add', 'alice', '--roles', 'ops']), 4, 'alice');
    expectExit(await admin(['roles', 'rm', 'admin']), 4, 'role "admin" is held by bob; remove it from them first');
  });

  test('5: wrong password, access denied, locked (and a lock without a message reads whole)', async () => {
    expectExit(await login('alice', 'not the password at all'), 5, 'invalid username or password');
    expectExit(await alice.tp(['users', 'ls'], { env: { TP_DATA_DIR: '' } }), 5, 'is not allowed by roles [ops]');
    await f.user('carol', ['ops']);
    expect((await admin(['locks', 'add', '--user', 'carol'])).code).toBe(0);
    const locked = await login('carol', PASSWORD);
    expectExit(locked, 5, 'user "carol" is locked by an administrator\n');
    expect(locked.stderr).not.toMatch(/locked: \n/);
  });

  test('6: login needed', async () => {
    expectExit(await stranger(['ls']), 6, 'tp login');
  });

  test('8: the cluster cannot be reached; a stale data dir is named', async () => {
    expectExit(await stranger(['login', '--proxy', '127.0.0.1:1', '--user', 'x', '--insecure']), 8, '127.0.0.1:1');
    const flag = await tp(['roles', 'ls', '--data-dir', f.cluster.auth.dataDir, '--auth-server', '127.0.0.1:1']);
    expectExit(flag, 8, 'the address comes from --auth-server');
    const stale = mkdtempSync(join(f.dir, 'stale-'));
    cpSync(join(f.cluster.auth.dataDir, 'admin'), join(stale, 'admin'), { recursive: true });
    writeFileSync(join(stale, 'admin', 'auth_servers'), '127.0.0.1:1\n');
    const r = await tp(['roles', 'ls', '--data-dir', stale]);
    expectExit(r, 8, `cannot reach 127.0.0.1:1`);
    expect(r.stderr).toContain(
      `the address comes from ${join(stale, 'admin', 'auth_servers')}: is that auth service running?`,
    );
  });

  test("tp ssh: the remote command's status passes through, 255 is tp's own failure", async () => {
    const seven = await alice.tp(['ssh', 'n1', 'exit 7']);
    expect(seven.code).toBe(7);
    const none = await alice.tp(['ssh', 'no-such-node', 'true']);
    expectExit(none, 255, 'not found');
  });

  test('a login the roles allow but the node lacks is explained (255)', async () => {
    const u = await f.user('nils', ['ops'], { logins: ['no-such-os-account'] });
    const r = await u.tp(['ssh', 'n1', 'true']);
    expectExit(r, 255, 'n1 refused the login "no-such-os-account" that your roles allow: does the account');
  });

  test('tp ssh with a name two nodes share refuses and lists their host IDs (255)', async () => {
    for (const port of [1, 2])
      expect((await admin(['nodes', 'add', '--agentless', '--name', 'dup', '--addr', `127.0.0.1:${port}`])).code).toBe(
        0,
      );
    expectExit(await alice.tp(['ssh', 'dup', 'true']), 255, /"dup" names 2 nodes; use a host ID: \S+, \S+/);
  });
});

describe('tp ssh: everything after the destination is the remote command', () => {
  test('df -h / runs on the node instead of printing help', async () => {
    const r = await alice.tp(['ssh', 'n1', 'df', '-h', '/']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Filesystem\s+Size/);
  });

  test('grep -h root /etc/passwd, with and without --', async () => {
    const root = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .filter((l) => l.includes('root'))
      .join('\n');
    for (const args of [
      ['ssh', 'n1', 'grep', '-h', 'root', '/etc/passwd'],
      ['ssh', 'n1', '--', 'grep', '-h', 'root', '/etc/passwd'],
      ['ssh', '--', 'n1', 'grep', '-h', 'root', '/etc/passwd'],
    ]) {
      const r = await alice.tp(args);
      expect({ args, code: r.code, out: r.stdout.trimEnd() }).toEqual({ args, code: 0, out: root });
    }
  });
});

describe('errors that say what is wrong', () => {
  test('--proxy given as an https:// URL is accepted', async () => {
    const r = await stranger(
      ['login', '--proxy', `https://${f.cluster.proxy.addr}/web`, '--user', 'alice', '--password-stdin', '--insecure'],
      PASSWORD,
    );
    expect(r.stderr).not.toContain('error');
    expect(r.stdout).toContain('logged in to test.cluster as alice');
    expectExit(await stranger(['login', '--proxy', `http://${f.cluster.proxy.addr}`, '--user', 'a']), 2, 'HTTPS only');
  });

  test('first contact with a self-signed proxy explains --ca-cert and --insecure, not a CA rotation', async () => {
    const r = await stranger(
      ['login', '--proxy', f.cluster.proxy.addr, '--user', 'alice', '--password-stdin'],
      PASSWORD,
    );
    expectExit(r, 6, 'First contact with a self-signed proxy');
    expect(r.stderr).toContain('--ca-cert');
    expect(r.stderr).not.toContain('since you last connected');
  });

  test("the auth server's port given as the proxy says so", async () => {
    const r = await stranger(
      ['login', '--proxy', f.cluster.auth.server.addr, '--user', 'alice', '--password-stdin', '--insecure'],
      PASSWORD,
    );
    expectExit(r, 2, "is not a tp proxy (no /webapi/ping); is it the auth server's port?");
  });
});

describe('smaller contract points', () => {
  test('logins keep the order given (the first is tp ssh default)', async () => {
    const u = await f.user('zoe', ['ops'], { logins: ['zed', 'amy', me] });
    const s = JSON.parse((await u.tp(['status', '--format', 'json'])).stdout);
    expect(s.logins).toEqual(['zed', 'amy', me]);
  });

  test('tp scp -P 22 copies (the port option is accepted, as with scp)', async () => {
    const src = join(f.dir, 'scp-src.txt');
    writeFileSync(src, 'port option\n');
    const dest = join(f.dir, 'scp-dest.txt');
    const r = await alice.tp(['scp', '-P', '22', src, `n1:${dest}`]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: 'copied 1 file\n' });
    expect(readFileSync(dest, 'utf8')).toBe('port option\n');
  });

  test('tp audit search --limit N gives the newest N, newest first (like tp recordings ls)', async () => {
    const all = JSON.parse((await admin(['audit', 'search', '--format', 'json'])).stdout) as { time: string }[];
    expect(all.length).toBeGreaterThan(5);
    const times = all.map((e) => e.time);
    expect(times).toEqual([...times].sort().reverse());
    const five = JSON.parse((await admin(['audit', 'search', '--limit', '5', '--format', 'json'])).stdout);
    expect(five).toEqual(all.slice(0, 5));
  });
});

/** Every command path under `path`, found through the help's "Commands:" lists (the public surface). */
async function commandTree(path: string[] = []): Promise<{ leaves: string[][]; helps: Map<string, CliResult> }> {
  const helps = new Map<string, CliResult>();
  const leaves: string[][] = [];
  const walk = async (p: string[]) => {
    const h = await tp([...p, '--help']);
    helps.set(p.join(' '), h);
    const section = /\nCommands:\n((?: {2}\S.*\n)+)/.exec(h.stdout)?.[1];
    if (!section) return void leaves.push(p);
    const names = section
      .trimEnd()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0]!);
    // `tp help X` is `tp X --help`, not a command of its own.
    for (const name of names) if (name !== 'help') await walk([...p, name]);
  };
  await walk(path);
  return { leaves, helps };
}

describe('every command', () => {
  test('help in a pipe has no escape byte and no trailing spaces; an unknown flag exits 2 naming it', async () => {
    const { leaves, helps } = await commandTree();
    expect(leaves.length).toBeGreaterThan(40);
    for (const [path, h] of helps) {
      expect({ path, code: h.code, stderr: h.stderr }).toEqual({ path, code: 0, stderr: '' });
      expect({ path, esc: h.stdout.includes(ESC), trailing: /[ \t]$/m.test(h.stdout) }).toEqual({
        path,
        esc: false,
        trailing: false,
      });
      expect(h.stdout).toContain(`Usage: tp ${path}`.trimEnd());
      expect(h.stdout).not.toMatch(/\(Default: \)|\(tp \S+ v\d/);
    }
    for (const leaf of leaves) {
      const r = await tp([...leaf, '--no-such-flag']);
      expect({ leaf, code: r.code, stdout: r.stdout }).toEqual({ leaf, code: 2, stdout: '' });
      expect(r.stderr).toStartWith('error: unknown flag --no-such-flag\nusage: tp ');
      expect({ leaf, esc: r.stderr.includes(ESC), trailing: /[ \t]$/m.test(r.stderr) }).toEqual({
        leaf,
        esc: false,
        trailing: false,
      });
    }
  });

  test("tp help COMMAND shows that command's help; tp --version prints the version", async () => {
    expect(await tp(['help', 'ca', 'start'])).toEqual({
      ...(await tp(['ca', 'start', '--help'])),
      ms: expect.any(Number),
    });
    expect((await tp(['--version'])).stdout).toMatch(/^tp v\d+\.\d+\.\d+\n$/);
  });

  test("tp ssh and tp scp list their options; tp start --help names this user's data dir", async () => {
    expect((await tp(['ssh', '--help'])).stdout).toMatch(/Options:\n {2}-l LOGIN[\s\S]*-L \[bind:\]port:host:hostport/);
    expect((await tp(['scp', '--help'])).stdout).toMatch(/Options:\n {2}-r[\s\S]*-P PORT/);
    const { userDataDir } = await import('../core/config/defaults.ts');
    expect((await tp(['start', '--help'])).stdout).toContain(`else ${userDataDir()})`);
  });
});

describe('lazy loading', () => {
  /** The modules a `tp ...` process loaded, seen by a preload script at exit. */
  const modulesOf = async (args: string[]) => {
    const probe = join(f.dir, 'module-probe.ts');
    writeFileSync(
      probe,
      `process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n`,
    );
    const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
    const r = await run([process.execPath, '--preload', probe, entry, ...args]);
    return JSON.parse(/MODULES (.*)/.exec(r.stderr)![1]!) as string[];
  };
  const heavy = /\/core\/(ssh|crypto|tunnel|backend|proxy|auth|agent)\/|node_modules\/(ssh2|@peculiar)\//;

  test('tp version, tp --help and a typo load no SSH, TLS or storage code; tp ssh does', async () => {
    for (const args of [['version'], ['--help'], ['rolse']])
      expect({ args, heavy: (await modulesOf(args)).filter((m) => heavy.test(m)) }).toEqual({ args, heavy: [] });
    expect((await modulesOf(['ssh', '--help'])).some((m) => m.includes('/core/ssh/'))).toBe(true);
  });
});

describe('a session cut from outside', () => {
  // Last in the file: it restarts the proxy under everyone.
  test('tp ssh whose proxy stops says so and exits 255, not silently', async () => {
    const ssh = tpSpawn(['ssh', 'n1', 'echo started >&2; sleep 30'], { env: alice.env });
    await ssh.stderrMatch(/started/);
    await f.cluster.restartProxy();
    const r = await ssh.done();
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('error: the session ended without an exit status: the connection to the node was cut');
  });
});
