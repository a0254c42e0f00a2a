import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDist } from '../helpers/distBuild.ts';
import { startSshFixture } from '../helpers/sshFixture.ts';

// Attack: a directory someone else controls (a cloned repository, a shared /tmp dir) holds a bunfig.toml whose
// `preload` runs their code and a .env that sets tp's environment. A user runs the shipped tp there. Bun reads
// both from the current directory by default, in a compiled binary too; the shipped tp must read neither.
const evil = mkdtempSync(join(tmpdir(), 'tp-evil-cwd-'));
const marker = join(evil, 'preload-ran');
let dist: { dir: string; outputs: string[] };

beforeAll(async () => {
  writeFileSync(join(evil, 'bunfig.toml'), 'preload = ["./evil.js"]\n');
  writeFileSync(join(evil, 'evil.js'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'pwned');\n`);
  writeFileSync(join(evil, '.env'), 'TP_DEBUG=1\nTP_HOME=/nonexistent/evil-home\n');
  dist = await runDist(['package', 'binaries', '--targets', 'linux-x64']);
});
afterAll(() => {
  rmSync(evil, { recursive: true, force: true });
  rmSync(dist.dir, { recursive: true, force: true });
});

/** Runs tp in the attacker's directory with a fresh HOME; `tp status` with no profile fails (TP_DEBUG adds a stack). */
async function statusIn(cmd: string[], pathFirst?: string): Promise<{ stderr: string; preloadRan: boolean }> {
  rmSync(marker, { force: true });
  const child = Bun.spawn([...cmd, 'status'], {
    cwd: evil,
    env: {
      HOME: mkdtempSync(join(evil, 'home-')),
      PATH: [pathFirst, process.env.PATH ?? '/usr/bin:/bin'].filter(Boolean).join(':'),
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const stderr = await new Response(child.stderr).text();
  await child.exited;
  return { stderr, preloadRan: existsSync(marker) };
}

describe("tp (binary, package, clone bin) ignores the current directory's bunfig.toml and .env", () => {
  test('the compiled binary', async () => {
    const r = await statusIn([join(dist.dir, 'tp-linux-x64')]);
    expect(r.preloadRan).toBe(false);
    expect(r.stderr).toBe('error: not logged in: run `tp login --proxy HOST:PORT --user NAME`\n'); // no TP_DEBUG stack
  });

  test("the npm package's launcher (started by Node, running the bundle on the bun dependency)", async () => {
    const pkgDir = join(dist.dir, 'installed');
    cpSync(join(dist.dir, 'package'), pkgDir, { recursive: true });
    mkdirSync(join(pkgDir, 'node_modules'));
    symlinkSync(join(import.meta.dir, '..', '..', 'node_modules', 'bun'), join(pkgDir, 'node_modules', 'bun'));
    const node = Bun.which('node');
    expect(node).not.toBeNull();
    const r = await statusIn([node!, join(pkgDir, 'bin', 'tp.mjs')]);
    expect(r.preloadRan).toBe(false);
    expect(r.stderr).toBe('error: not logged in: run `tp login --proxy HOST:PORT --user NAME`\n');
  });

  test("the clone's bin (npm link, npx tp), run by its shebang", async () => {
    const clone = join(import.meta.dir, '..', '..');
    const r = await statusIn([join(clone, 'cmd', 'tp.ts')], join(clone, 'node_modules', '.bin'));
    expect(r.preloadRan).toBe(false);
    expect(r.stderr).toBe('error: not logged in: run `tp login --proxy HOST:PORT --user NAME`\n');
  });

  test("stock ssh through `tp config`: the ProxyCommand (run in the user's directory) reads neither", async () => {
    await using f = await startSshFixture([{ name: 'n1' }]);
    const alice = await f.user('alice', ['ops']);
    const config = join(f.dir, 'ssh_config');
    writeFileSync(config, (await alice.tp(['config'])).stdout);
    rmSync(marker, { force: true });
    const child = Bun.spawn(['ssh', '-F', config, '-o', 'BatchMode=yes', 'n1.test.cluster', 'echo ok'], {
      cwd: evil,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [out, err] = [await new Response(child.stdout).text(), await new Response(child.stderr).text()];
    await child.exited;
    expect(out, err).toBe('ok\n');
    expect(existsSync(marker)).toBe(false);
  });
});
