import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../core/client/localUser.ts';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { freePort } from './helpers/sshd.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
const me = localUsername();
const dir = mkdtempSync(join(tmpdir(), 'tp-daemons-'));
const children: ReturnType<typeof Bun.spawn>[] = [];
let secondProxy = '';
afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a tp daemon process and waits for `marker` on its stdout; returns the output so far. */
async function daemon(args: string[], marker: RegExp): Promise<string> {
  const child = Bun.spawn([process.execPath, entry, ...args], {
    stdout: 'pipe',
    stderr: 'ignore',
    env: { ...process.env, TP_LOG_FORMAT: 'json' },
  });
  children.push(child);
  const reader = child.stdout.getReader();
  let out = '';
  while (!marker.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tp ${args[0]} exited: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return out;
}

describe('the daemons as separate processes', () => {
  test('tp start (all-in-one, as npm start runs it), then a standalone proxy and a second agent joined through it', async () => {
    const authPort = await freePort();
    writeFileSync(
      join(dir, 'tp.yaml'),
      `cluster_name: daemons.test\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\nproxy: {listen: 127.0.0.1:0, ssh_listen: 127.0.0.1:0}\nssh: {name: aio-node, labels: {role: aio}}\n`,
    );
    const dataDir = join(dir, 'data');
    const banner = await daemon(['start', '--config', join(dir, 'tp.yaml'), '--data-dir', dataDir], /then log in/);
    expect(banner).toContain('tp cluster "daemons.test" is up.');
    expect(banner).toMatch(/Add the first user/);
    const proxy = /proxy:\s+https:\/\/(\S+)/.exec(banner)![1]!;
    const admin = ['--data-dir', dataDir];
    expect(
      (
        await tp(['users', 'add', 'dana', '--roles', 'admin', '--logins', me, '--password-stdin', ...admin], {
          stdin: 'correct horse battery staple',
        })
      ).code,
    ).toBe(0);

    // A second proxy joins auth with a proxy token and serves on its own port.
    const proxyToken = JSON.parse(
      (await tp(['tokens', 'add', '--type', 'proxy', '--format', 'json', ...admin])).stdout,
    );
    const proxy2Port = await freePort();
    await daemon(
      [
        'proxy',
        'start',
        '--auth-server',
        `127.0.0.1:${authPort}`,
        '--token',
        proxyToken.token,
        '--ca-pin',
        proxyToken.ca_pin,
        '--listen',
        `127.0.0.1:${proxy2Port}`,
        '--ssh-listen',
        '127.0.0.1:0',
        '--data-dir',
        join(dir, 'proxy2'),
      ],
      /proxy listening on/,
    );
    const proxy2 = `127.0.0.1:${proxy2Port}`;
    secondProxy = proxy2;

    // An agent joins through the second proxy, pinning the CA.
    const nodeToken = JSON.parse((await tp(['tokens', 'add', '--type', 'node', '--format', 'json', ...admin])).stdout);
    await daemon(
      [
        'agent',
        'start',
        '--proxy',
        proxy2,
        '--token',
        nodeToken.token,
        '--ca-pin',
        nodeToken.ca_pin,
        '--name',
        'far-node',
        '--labels',
        'role=far',
        '--data-dir',
        join(dir, 'agent'),
      ],
      /running/,
    );

    const home = { TP_HOME: join(dir, 'home') };
    const login = await tp(['login', '--proxy', proxy2, '--user', 'dana', '--password-stdin', '--insecure'], {
      env: home,
      stdin: 'correct horse battery staple',
    });
    expect(login.code).toBe(0);
    await waitFor('both nodes listed', async () => {
      const ls = await tp(['ls', '--format', 'json'], { env: home });
      return JSON.parse(ls.stdout).length === 2;
    });
    expect((await tp(['ssh', 'far-node', 'echo via-second-proxy'], { env: home })).stdout).toBe('via-second-proxy\n');
    // The all-in-one node holds its tunnel to the first proxy; the second proxy reaches it only there.
    const other = await tp(['ssh', 'aio-node', 'true'], { env: home });
    expect(other.code).toBe(255);
    expect(other.stderr).toContain('offline');
    const home1 = { TP_HOME: join(dir, 'home1') };
    await tp(['login', '--proxy', proxy, '--user', 'dana', '--password-stdin', '--insecure'], {
      env: home1,
      stdin: 'correct horse battery staple',
    });
    expect((await tp(['ssh', 'aio-node', 'echo all-in-one'], { env: home1 })).stdout).toBe('all-in-one\n');
  });

  test('a wrong --ca-pin or an unreachable proxy stops the join with a clear error, and nothing is saved', async () => {
    const pin = `sha256:${'0'.repeat(64)}`;
    const wrong = await tp([
      'agent',
      'start',
      '--proxy',
      secondProxy,
      '--token',
      'x',
      '--ca-pin',
      pin,
      '--name',
      'n',
      '--data-dir',
      join(dir, 'bad-agent'),
    ]);
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain("the proxy's cluster CA does not match --ca-pin");
    const down = await tp([
      'agent',
      'start',
      '--proxy',
      '127.0.0.1:1',
      '--token',
      'x',
      '--name',
      'n',
      '--data-dir',
      join(dir, 'bad-agent'),
    ]);
    expect(down.code).toBe(8);
    expect(down.stderr).toContain('cannot reach the proxy at 127.0.0.1:1');
    expect(existsSync(join(dir, 'bad-agent', 'agent', 'identity.json'))).toBe(false);
  });
});
