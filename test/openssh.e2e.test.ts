import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SSHD, type Sshd, ssh, startSshd } from './helpers/sshd.ts';
import { type FixtureUser, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
let alice: FixtureUser;
let config: string;
let sshd: Sshd | undefined;
const cluster = 'test.cluster';

beforeAll(async () => {
  f = await startSshFixture([{ name: 'tunnel1', labels: { env: 'dev' } }]);
  alice = await f.user('alice', ['ops']);
  config = join(f.dir, 'ssh_config');
  const out = await alice.tp(['config']);
  expect(out.code).toBe(0);
  writeFileSync(config, out.stdout);
  if (SSHD) {
    // An agentless node: stock sshd trusting tp's user CA and presenting a tp host certificate.
    const caFile = join(f.dir, 'tp_user_ca.pub');
    writeFileSync(caFile, (await f.admin(['ca', 'export', '--type', 'user'])).stdout);
    const hostDir = join(f.dir, 'agentless-host');
    expect(
      (await f.admin(['ca', 'sign', '--host', 'agentless1', '--principals', `agentless1.${cluster}`, '--out', hostDir]))
        .code,
    ).toBe(0);
    sshd = await startSshd([
      `TrustedUserCAKeys ${caFile}`,
      `HostKey ${join(hostDir, 'key')}`,
      `HostCertificate ${join(hostDir, 'key-cert.pub')}`,
    ]);
    const add = await f.admin([
      'nodes',
      'add',
      '--name',
      'agentless1',
      '--addr',
      `127.0.0.1:${sshd.port}`,
      '--agentless',
      '--labels',
      'env=legacy',
    ]);
    expect(add.code).toBe(0);
  }
});
afterAll(async () => {
  await sshd?.close();
  await f.close();
});

const viaConfig = (args: string[]) => ssh(['-F', config, ...args]);

describe('stock OpenSSH with `tp config`', () => {
  test('ssh runs a command with no host-key prompt (StrictHostKeyChecking yes)', async () => {
    expect(readFileSync(config, 'utf8')).toContain('StrictHostKeyChecking yes');
    const r = await viaConfig([`tunnel1.${cluster}`, 'echo openssh-through-tp; exit 6']);
    expect(r.stdout).toBe('openssh-through-tp\n');
    expect(r.code).toBe(6);
    expect(r.stderr).not.toMatch(/authenticity|Warning/);
  });

  test('the node accepts LANG/LC_*/TP_* environment from the client, and nothing else', async () => {
    const r = await viaConfig([
      '-o',
      'SetEnv=TP_TEST=hello LD_PRELOAD=/evil.so',
      `tunnel1.${cluster}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a remote shell expansion, not a JS template
      'echo "$TP_TEST:${LD_PRELOAD:-unset}"',
    ]);
    expect(r.stdout).toBe('hello:unset\n');
  });

  test('scp and sftp copy files', async () => {
    const src = join(f.dir, 'scp-src.txt');
    writeFileSync(src, 'via scp\n');
    const scp = Bun.spawn(
      ['scp', '-F', config, '-o', 'BatchMode=yes', src, `tunnel1.${cluster}:${join(f.dir, 'scp-dst.txt')}`],
      { stdout: 'pipe', stderr: 'pipe' },
    );
    expect(await scp.exited).toBe(0);
    expect(readFileSync(join(f.dir, 'scp-dst.txt'), 'utf8')).toBe('via scp\n');
    const sftp = Bun.spawn(['sftp', '-F', config, '-o', 'BatchMode=yes', '-b', '-', `tunnel1.${cluster}`], {
      stdin: new TextEncoder().encode(`get ${join(f.dir, 'scp-dst.txt')} ${join(f.dir, 'sftp-back.txt')}\n`),
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(await sftp.exited).toBe(0);
    expect(readFileSync(join(f.dir, 'sftp-back.txt'), 'utf8')).toBe('via scp\n');
  });

  test("ssh -J through the proxy's SSH jump port", async () => {
    const r = await viaConfig(['-J', `tp-proxy.${cluster}`, `${me}@tunnel1.${cluster}`, 'echo jumped']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('jumped\n');
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!SSHD)('an agentless OpenSSH node behind the proxy', () => {
  test('tp ssh and tp ls reach it', async () => {
    const r = await alice.tp(['ssh', 'agentless1', 'echo from-sshd']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-sshd\n');
    expect((await alice.tp(['ls', 'env=legacy'])).stdout).toContain('agentless1');
  });

  test('stock ssh reaches it through tp config with no prompt', async () => {
    const r = await viaConfig([`agentless1.${cluster}`, 'echo sshd-via-openssh']);
    expect(r.stdout).toBe('sshd-via-openssh\n');
    expect(r.code).toBe(0);
  });

  test('a login the role lacks is refused by the proxy before sshd sees it', async () => {
    const before = sshd!.log().split('Connection from').length;
    const r = await alice.tp(['ssh', 'nobody@agentless1', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('login "nobody" is not allowed by roles [ops]');
    expect(sshd!.log().split('Connection from').length).toBe(before);
  });
});
