import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../core/client/localUser.ts';
import { run, tp, tpOk } from './helpers/cli.ts';
import { startTestAuth, type TestAuth } from './helpers/cluster.ts';
import { SSHD, ssh, startSshd } from './helpers/sshd.ts';

const me = localUsername();
let auth: TestAuth;
let work: string;
const admin = () => ['--data-dir', auth.dataDir];

beforeAll(async () => {
  auth = await startTestAuth();
  work = mkdtempSync(join(tmpdir(), 'tp-ca-e2e-'));
  const role = join(work, 'ops.yaml');
  writeFileSync(
    role,
    'kind: role\nmetadata:\n  name: ops\nspec:\n  options:\n    max_session_ttl: 2h\n  allow:\n    logins: ["{{internal.logins}}"]\n    node_labels: {"*": "*"}\n',
  );
  await tpOk(['roles', 'create', '-f', role, ...admin()]);
  await tpOk(['users', 'add', 'bob', '--roles', 'ops', '--logins', me, ...admin()]);
});

afterAll(async () => {
  await auth.close();
  rmSync(work, { recursive: true, force: true });
});

describe('tp ca with real OpenSSH', () => {
  test('ssh-keygen -L reads the certificate from tp ca sign, with the role-capped TTL', async () => {
    const out = join(work, 'bob');
    const json = JSON.parse(
      await tpOk(['ca', 'sign', '--user', 'bob', '--ttl', '10h', '--out', out, '--format', 'json', ...admin()]),
    );
    expect(json.logins).toEqual([me]);
    const expires = Date.parse(json.expires);
    expect(expires - Date.now()).toBeLessThanOrEqual(2 * 3_600_000 + 5_000);
    const r = Bun.spawnSync(['ssh-keygen', '-L', '-f', join(out, 'key-cert.pub')]);
    expect(r.exitCode).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain('user certificate');
    expect(text).toContain('Key ID: "bob"');
    expect(text).toContain(me);
    expect(Bun.file(join(out, 'key')).size).toBeGreaterThan(0);
    expect(
      Bun.spawnSync(['stat', '-c', '%a', join(out, 'key')])
        .stdout.toString()
        .trim(),
    ).toBe('600');
  });

  test.skipIf(!SSHD)(
    'sshd trusting `tp ca export --type user` lets the allowed login in and refuses another',
    async () => {
      const caFile = join(work, 'user_ca.pub');
      writeFileSync(caFile, await tpOk(['ca', 'export', '--type', 'user', ...admin()]));
      const hostDir = join(work, 'host');
      await tpOk(['ca', 'sign', '--host', 'localhost', '--principals', '127.0.0.1', '--out', hostDir, ...admin()]);
      const knownHosts = join(work, 'known_hosts');
      const kh = await tpOk(['ca', 'export', '--type', 'host', '--format', 'known_hosts', ...admin()]);
      expect(kh.startsWith('@cert-authority * ssh-ed25519 ')).toBe(true);
      writeFileSync(knownHosts, kh);
      await using sshd = await startSshd([
        `TrustedUserCAKeys ${caFile}`,
        `HostKey ${join(hostDir, 'key')}`,
        `HostCertificate ${join(hostDir, 'key-cert.pub')}`,
      ]);
      const userDir = join(work, 'bob-ssh');
      await tpOk(['ca', 'sign', '--user', 'bob', '--ttl', '5m', '--out', userDir, ...admin()]);
      const base = [
        '-i',
        join(userDir, 'key'),
        '-o',
        `CertificateFile=${join(userDir, 'key-cert.pub')}`,
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-p',
        String(sshd.port),
      ];
      const ok = await ssh([...base, `${me}@127.0.0.1`, 'echo tp-ok-$((40+2))']);
      expect(ok.stderr).not.toContain('Permission denied');
      expect(ok.code).toBe(0);
      expect(ok.stdout.trim()).toBe('tp-ok-42');
      const denied = await ssh([...base, 'nobody@127.0.0.1', 'true']);
      expect(denied.code).toBe(255);
      expect(denied.stderr).toContain('Permission denied');
      expect(sshd.log()).toMatch(/not a listed principal|principal .* not in/i);
    },
  );

  test('openssl verify accepts tls.crt, and curl --cacert accepts a TLS server using a tp host cert', async () => {
    const out = join(work, 'bob');
    const v = Bun.spawnSync(['openssl', 'verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]);
    expect(v.stdout.toString().trim()).toEndWith(': OK');
    const hostDir = join(work, 'web');
    await tpOk(['ca', 'sign', '--host', 'localhost', '--principals', '127.0.0.1', '--out', hostDir, ...admin()]);
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      tls: {
        cert: readFileSync(join(hostDir, 'tls.crt'), 'utf8'),
        key: readFileSync(join(hostDir, 'tls.key'), 'utf8'),
      },
      fetch: () => new Response('hello over tp tls'),
    });
    try {
      const {
        stdout: body,
        stderr: err,
        code,
      } = await run([
        'curl',
        '-sS',
        '--cacert',
        join(hostDir, 'ca.crt'),
        '--resolve',
        `localhost:${server.port}:127.0.0.1`,
        `https://localhost:${server.port}/`,
      ]);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(body).toBe('hello over tp tls');
      const foreign = Bun.spawn(
        [
          'curl',
          '-sS',
          '--cacert',
          '/etc/ssl/certs/ca-certificates.crt',
          '--resolve',
          `localhost:${server.port}:127.0.0.1`,
          `https://localhost:${server.port}/`,
        ],
        { stdout: 'pipe', stderr: 'pipe' },
      );
      expect(await foreign.exited).toBe(60);
      expect(await new Response(foreign.stderr).text()).toContain('certificate');
    } finally {
      server.stop(true);
    }
  });
});

describe('admin CLI', () => {
  test('listings take --format json and yaml; errors are one clear line with a non-zero exit', async () => {
    const users = JSON.parse(await tpOk(['users', 'ls', '--format', 'json', ...admin()]));
    expect(users.map((u: { name: string }) => u.name)).toContain('bob');
    expect(await tpOk(['roles', 'ls', '--format', 'yaml', ...admin()])).toContain('name: ops');
    expect(await tpOk(['roles', 'ls', ...admin()])).toMatch(/^NAME\s+LOGINS/);
    const dup = await tp(['users', 'add', 'bob', '--roles', 'ops', ...admin()]);
    expect(dup.code).toBe(4);
    expect(dup.stderr).toBe('error: user "bob" already exists\n');
    const badRole = await tp(['users', 'add', 'carol', '--roles', 'nope', ...admin()]);
    expect(badRole.code).toBe(3);
    expect(badRole.stderr).toContain('unknown role(s): nope');
    const badFormat = await tp(['users', 'ls', '--format', 'xml', ...admin()]);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format must be text, json or yaml');
    const noDir = await tp(['users', 'ls', '--data-dir', join(work, 'nowhere')]);
    expect(noDir.code).not.toBe(0);
    expect(noDir.stderr).toContain('no admin identity in');
  });

  test('users add without a password prints a one-time sign-up link', async () => {
    const out = await tpOk(['users', 'add', 'dave', '--roles', 'access', ...admin()]);
    expect(out).toMatch(/sign-up link \(valid 24h\): https:\/\/\S+\/web\/invite\/[A-Za-z0-9_-]{20,}/);
    const ls = await tpOk(['users', 'ls', ...admin()]);
    expect(ls).toMatch(/dave\s+access\s+dave\s+invited/);
  });

  test('users reset and rm; roles get, rm (refused while held); locks ls', async () => {
    await tpOk(['users', 'add', 'erin', '--roles', 'ops', '--password-stdin', ...admin()], {
      stdin: 'correct horse battery staple',
    });
    const reset = await tpOk(['users', 'reset', 'erin', ...admin()]);
    expect(reset).toMatch(
      /user "erin" reset; share this one-time sign-up link \(valid 24h\): https:\/\/\S+\/web\/invite\//,
    );
    expect(await tpOk(['users', 'ls', ...admin()])).toMatch(/erin\s+ops\s+\S+\s+invited/);
    const role = await tpOk(['roles', 'get', 'ops', ...admin()]);
    expect(role).toContain('max_session_ttl: 2h');
    const held = await tp(['roles', 'rm', 'ops', ...admin()]);
    expect(held.code).toBe(4);
    expect(held.stderr).toContain('role "ops" is held by');
    await tpOk(['users', 'rm', 'erin', ...admin()]);
    expect(await tpOk(['users', 'ls', ...admin()])).not.toContain('erin');
    const gone = await tp(['users', 'rm', 'erin', ...admin()]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toBe('error: user "erin" not found\n');
    writeFileSync(join(work, 'temp.yaml'), 'metadata: {name: temp}\nspec: {allow: {logins: [x]}}\n');
    await tpOk(['roles', 'create', '-f', join(work, 'temp.yaml'), ...admin()]);
    expect((await tp(['roles', 'create', '-f', join(work, 'temp.yaml'), ...admin()])).stderr).toContain(
      'use --force to replace it',
    );
    await tpOk(['roles', 'rm', 'temp', ...admin()]);
    const lock = JSON.parse(await tpOk(['locks', 'add', '--node', 'some-node', '--format', 'json', ...admin()]));
    expect(await tpOk(['locks', 'ls', ...admin()])).toMatch(new RegExp(`${lock.id}\\s+node:some-node`));
    await tpOk(['locks', 'rm', lock.id, ...admin()]);
    // What is left is the lock deleting erin put on the certificates erin may still hold.
    const left = (await tpOk(['locks', 'ls', ...admin()])).trim().split('\n').slice(2);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\w+\s+user:erin\s+user deleted by admin; .*auth:user-deleted$/);
  });

  test('tokens, locks and audit search work from the CLI', async () => {
    const tok = JSON.parse(
      await tpOk(['tokens', 'add', '--type', 'node', '--ttl', '1h', '--format', 'json', ...admin()]),
    );
    expect(tok.token.length).toBeGreaterThan(20);
    const tokens = await tpOk(['tokens', 'ls', ...admin()]);
    expect(tokens).toContain(tok.id);
    expect(tokens).not.toContain(tok.token);
    await tpOk(['tokens', 'rm', tok.id, ...admin()]);
    expect(await tpOk(['tokens', 'ls', ...admin()])).not.toContain(tok.id);
    const lock = JSON.parse(
      await tpOk([
        'locks',
        'add',
        '--user',
        'bob',
        '--message',
        'incident 42',
        '--ttl',
        '1h',
        '--format',
        'json',
        ...admin(),
      ]),
    );
    const signLocked = await tp(['ca', 'sign', '--user', 'bob', '--out', join(work, 'locked'), ...admin()]);
    expect(signLocked.code).toBe(5);
    expect(signLocked.stderr).toContain('incident 42');
    await tpOk(['locks', 'rm', lock.id, ...admin()]);
    const events = JSON.parse(
      await tpOk(['audit', 'search', '--since', '1h', '--type', 'lock.created', '--format', 'json', ...admin()]),
    );
    expect(events.some((e: { lock_id: string }) => e.lock_id === lock.id)).toBe(true);
    expect(JSON.stringify(await tpOk(['audit', 'search', '--format', 'json', ...admin()]))).not.toContain(tok.token);
  });
});
