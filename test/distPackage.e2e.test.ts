import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { run } from './helpers/cli.ts';
import { spawnAgent } from './helpers/distAgent.ts';
import { installedFlow, runDist } from './helpers/distBuild.ts';
import { freePort } from './helpers/sshd.ts';
import { type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { startTpDaemon } from './helpers/tpDaemon.ts';

// The npm package as a user gets it: `just dist` packs it, npm installs it into an empty prefix with a fresh HOME,
// and the installed `tp` logs in and runs a command over SSH with only Node and npm on PATH.
let f: SshFixture;
let dist: { dir: string; outputs: string[] };
const tgz = () => join(dist.dir, `tp-${pkg.version}.tgz`);
const nodeDir = dirname(Bun.which('node') ?? '/usr/bin/node');
const npm = Bun.which('npm');
const scratch = mkdtempSync(join(tmpdir(), 'tp-dist-pkg-'));

beforeAll(async () => {
  [f, dist] = await Promise.all([startSshFixture([{ name: 'n1' }]), runDist(['package'])]);
});
afterAll(async () => {
  await f.close();
  rmSync(dist.dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('the npm package', () => {
  test('holds the launcher, the bundle, the manifest and the README: no tests, fixtures, keys or sources', async () => {
    expect(dist.outputs[0]).toBe(tgz());
    const listing = await run(['tar', 'tzf', tgz()]);
    expect(listing.stdout.trim().split('\n').sort()).toEqual([
      'package/README.md',
      'package/bin/tp.mjs',
      'package/lib/tp.js',
      'package/package.json',
    ]);
    const manifest = JSON.parse((await run(['tar', 'xzOf', tgz(), 'package/package.json'])).stdout);
    expect(manifest).toMatchObject({ name: 'tp', version: pkg.version, bin: { tp: './bin/tp.mjs' } });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['bun', 'bun-pty']);
  });

  test('its bundle runs with no node_modules in reach: login and ssh use the patched ssh2 inside it', async () => {
    const copy = join(scratch, 'bare');
    cpSync(join(dist.dir, 'package'), copy, { recursive: true });
    const flow = await installedFlow(f, [process.execPath, join(copy, 'lib', 'tp.js')], {}, 'n1');
    expect(flow.version.stdout).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
    expect(flow.login.code, flow.login.stderr).toBe(0);
    expect(flow.login.stdout).toContain('logged in to test.cluster as dist');
    expect(flow.ssh.stderr).toBe('');
    expect(flow.ssh.stdout).toBe('ok\n');
  });

  test('its bundle is the agent too: it joins and serves tp ssh, no node_modules in reach', async () => {
    const copy = join(scratch, 'bare-agent');
    cpSync(join(dist.dir, 'package'), copy, { recursive: true });
    const agent = await spawnAgent(f, [process.execPath, join(copy, 'lib', 'tp.js')], {
      name: 'bundled',
      dataDir: join(scratch, 'agent'),
      ms: 20_000,
    });
    try {
      const flow = await installedFlow(f, [process.execPath, join(copy, 'lib', 'tp.js')], {}, 'bundled');
      expect(flow.ssh.stdout, flow.ssh.stderr).toBe('ok\n');
    } finally {
      await agent.stop();
    }
  });

  test('its bundle runs the all-in-one tp start and serves the web UI from inside it (no web/ sources)', async () => {
    const copy = join(scratch, 'bare-start');
    cpSync(join(dist.dir, 'package'), copy, { recursive: true });
    writeFileSync(
      join(copy, 'tp.yaml'),
      `auth: {listen: 127.0.0.1:${await freePort()}}\nproxy: {listen: 127.0.0.1:0, ssh_listen: 127.0.0.1:0}\n`,
    );
    const d = await startTpDaemon(
      ['start', '--config', join(copy, 'tp.yaml'), '--data-dir', join(copy, 'data')],
      /then log in/,
      {
        cmd: [process.execPath, join(copy, 'lib', 'tp.js')],
      },
    );
    try {
      const proxy = /proxy:\s+https:\/\/(\S+)/.exec(d.banner)![1]!;
      const get = (path: string) => fetch(`https://${proxy}${path}`, { tls: { rejectUnauthorized: false } });
      const page = await get('/web');
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(import.meta.dir, '..', 'web', 'index.html'), 'utf8'));
      const app = await get('/web/assets/app.js');
      expect(app.status).toBe(200);
      const appText = await app.text();
      expect(appText.length).toBeGreaterThan(10_000);
      // The chunks app.js loads on demand (IronRDP's RDP client) are in the package too.
      const chunks = [...appText.matchAll(/import\("\.\/(chunk-[a-z0-9]+\.js)"\)/g)].map((m) => m[1]!);
      expect(chunks.length).toBeGreaterThan(0);
      for (const chunk of chunks) expect((await get(`/web/assets/${chunk}`)).status).toBe(200);
      expect((await get('/web/assets/app.css')).status).toBe(200);
    } finally {
      await d.stop();
    }
  });

  test.skipIf(!npm)(
    'npm install -g of the tarball, fresh HOME, only Node and npm on PATH: tp login and tp ssh',
    async () => {
      const prefix = join(scratch, 'prefix');
      const home = join(scratch, 'home');
      mkdirSync(home);
      const env = {
        HOME: home,
        PATH: `${join(prefix, 'bin')}:${nodeDir}:/usr/bin:/bin`,
        npm_config_update_notifier: 'false',
      };
      const cache = join(tmpdir(), 'tp-dist-npm-cache'); // a download cache only, kept between runs
      const install = await run(
        [npm!, 'install', '-g', '--prefix', prefix, '--cache', cache, '--no-audit', '--no-fund', tgz()],
        { env },
      );
      expect(install.code, install.stderr).toBe(0);
      expect(Bun.which('bun', { PATH: env.PATH })).toBeNull(); // the launcher finds the dependency's Bun itself
      const flow = await installedFlow(f, [join(prefix, 'bin', 'tp')], env, 'n1');
      expect(flow.version.stdout).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
      expect(flow.login.code, flow.login.stderr).toBe(0);
      expect(flow.login.stdout).toContain('logged in to test.cluster as dist');
      expect(flow.ssh.stdout, flow.ssh.stderr).toBe('ok\n');
      // The installed tp as the agent, with a PTY session: bun-pty (outside the bundle) resolves from the install.
      const agent = await spawnAgent(f, [join(prefix, 'bin', 'tp')], {
        name: 'installed',
        dataDir: join(scratch, 'installed-agent'),
        env,
        ms: 20_000,
      });
      try {
        const pty = await run([join(prefix, 'bin', 'tp'), 'ssh', '-t', 'installed', 'tty'], {
          env: { ...env, TP_HOME: flow.home },
        });
        expect(pty.stdout, pty.stderr).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
      } finally {
        await agent.stop();
      }
    },
  );

  test.skipIf(!npm)('npx --package and bunx --package run it one-off from the tarball, fresh HOME', async () => {
    const home = mkdtempSync(join(scratch, 'home-x-'));
    const env = { HOME: home, PATH: `${nodeDir}:/usr/bin:/bin`, npm_config_update_notifier: 'false' };
    const cache = join(tmpdir(), 'tp-dist-npm-cache');
    const npx = await run(
      [join(dirname(npm!), 'npx'), '--yes', '--cache', cache, '--package', tgz(), 'tp', 'version'],
      {
        env,
      },
    );
    expect(npx.stdout, npx.stderr).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
    const bunx = await run([process.execPath, 'x', '--package', tgz(), 'tp', 'version'], {
      env: { ...env, BUN_INSTALL_CACHE_DIR: join(tmpdir(), 'tp-dist-bun-cache') },
    });
    expect(bunx.stdout, bunx.stderr).toBe(`tp v${pkg.version} (bun ${Bun.version})\n`);
  });
});
