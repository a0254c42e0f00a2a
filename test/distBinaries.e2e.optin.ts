// Opt-in (`just dist-test`, which builds them first): the single-file binaries in $TP_DIST_BINARIES. Named
// .optin.ts so the default `bun test` does not collect it: building four ~110 MB binaries is not a unit-test cost.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { run } from './helpers/cli.ts';
import { spawnAgent } from './helpers/distAgent.ts';
import { installedFlow } from './helpers/distBuild.ts';
import { type FixtureUser, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

const dir = resolve(process.env.TP_DIST_BINARIES ?? 'dist');
const bin = (name: string) => join(dir, `tp-${name}`);
if (!existsSync(bin('linux-x64'))) throw new Error(`no ${bin('linux-x64')}: run \`just dist-test\` (it builds them)`);

const qemu = Bun.which('qemu-aarch64-static');
const sysroot = '/usr/aarch64-linux-gnu'; // Debian's libc6-arm64-cross: the loader and libc the glibc binary needs
const arm64Missing = !qemu
  ? 'qemu-aarch64-static is not installed (apt-get install qemu-user-static)'
  : !existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))
    ? `no aarch64 glibc under ${sysroot} (apt-get install libc6-arm64-cross)`
    : undefined;
if (arm64Missing) console.warn(`SKIPPING the arm64 qemu smoke test: ${arm64Missing}`);

let f: SshFixture;
let alice: FixtureUser;
const scratch = mkdtempSync(join(tmpdir(), 'tp-dist-bin-'));
const bare = { HOME: scratch, PATH: '/usr/bin:/bin' }; // no Bun, no Node needed

beforeAll(async () => {
  f = await startSshFixture([{ name: 'n1' }]);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => {
  await f.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the single-file binaries', () => {
  test('SHA256SUMS lists every binary with its digest', () => {
    const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
    for (const name of ['linux-x64', 'linux-arm64', 'linux-x64-musl', 'linux-arm64-musl']) {
      const digest = new Bun.CryptoHasher('sha256').update(readFileSync(bin(name))).digest('hex');
      expect(sums).toContain(`${digest}  tp-${name}\n`);
    }
  });

  test('x64: tp version, tp login and tp ssh with nothing but the binary (patched ssh2 compiled in)', async () => {
    const flow = await installedFlow(f, [bin('linux-x64')], bare, 'n1');
    expect(flow.version.stdout).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
    expect(flow.login.code, flow.login.stderr).toBe(0);
    expect(flow.ssh.stdout, flow.ssh.stderr).toBe('ok\n');
  });

  test("x64: tp config's ProxyCommand runs the binary itself", async () => {
    const r = await run([bin('linux-x64'), 'config'], { env: { ...bare, TP_HOME: alice.home } });
    expect(r.stdout).toContain(`ProxyCommand env TP_HOME="${alice.home}" "${bin('linux-x64')}" proxy ssh %r@%h:%p`);
  });

  test('x64: the same binary is the agent: it joins and serves tp ssh, with a PTY too', async () => {
    const agent = await spawnAgent(f, [bin('linux-x64')], {
      name: 'bin-x64',
      dataDir: join(scratch, 'agent-x64'),
      env: bare,
      ms: 20_000,
    });
    try {
      const r = await alice.tp(['ssh', 'bin-x64', 'echo ok-from-binary']);
      expect(r.stdout, r.stderr).toBe('ok-from-binary\n');
      // A PTY session: bun-pty's native library is embedded in the binary and found there.
      const pty = await alice.tp(['ssh', '-t', 'bin-x64', 'tty']);
      expect(pty.stdout, pty.stderr).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
    } finally {
      await agent.stop();
    }
  });

  test.skipIf(!!arm64Missing)('arm64 under qemu: tp version, then tp agent start joins and serves tp ssh', async () => {
    const emu = [qemu!, '-L', sysroot, bin('linux-arm64')];
    const v = await run([...emu, 'version'], { env: bare });
    expect(v.stdout, v.stderr).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
    const agent = await spawnAgent(f, emu, {
      name: 'bin-arm64',
      dataDir: join(scratch, 'agent-arm64'),
      env: bare,
      ms: 90_000,
    });
    try {
      const r = await alice.tp(['ssh', 'bin-arm64', 'uname -m; echo ok']);
      expect(r.stdout, r.stderr).toBe('x86_64\nok\n'); // the agent is emulated; the shell it starts is the host's
    } finally {
      await agent.stop();
    }
  });
});
