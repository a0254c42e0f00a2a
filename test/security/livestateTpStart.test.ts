import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../../core/client/localUser.ts';
import { type CliResult, tp } from '../helpers/cli.ts';
import { freePort } from '../helpers/sshd.ts';

// Role, deny and lock changes reach the proxy and the node within 1 s, measured against `tp start` as a separate
// process with its default settings (the in-process test cluster once hid a 5 s role cache and a 5 s agent poll).

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');
const me = localUsername();
const PASSWORD = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'tp-livestate-'));
const dataDir = join(dir, 'data');
const admin = (args: string[], stdin?: string) => tp([...args, '--data-dir', dataDir], { stdin });
let child: ReturnType<typeof Bun.spawn> | undefined;
let proxy = '';

/** Runs `tp` as a user with their own TP_HOME. */
const as = (user: string) => (args: string[]) => tp(args, { env: { TP_HOME: join(dir, `home-${user}`) } });

async function role(name: string, yaml: string, force = false): Promise<void> {
  const f = join(dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, yaml);
  const r = await admin(['roles', 'create', '-f', f, ...(force ? ['--force'] : [])]);
  if (r.code !== 0) throw new Error(`roles create: ${r.stderr}`);
}

async function addUser(name: string, roles: string): Promise<void> {
  const add = await admin(['users', 'add', name, '--roles', roles, '--logins', me, '--password-stdin'], PASSWORD);
  if (add.code !== 0) throw new Error(`users add: ${add.stderr}`);
  const home = { TP_HOME: join(dir, `home-${name}`) };
  const login = await tp(['login', '--proxy', proxy, '--user', name, '--password-stdin', '--insecure'], {
    env: home,
    stdin: PASSWORD,
  });
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
}

/** Runs `attempt` until `done` holds of its result or `ms` passed; returns the last result and when it came. */
async function pollFor(
  attempt: () => Promise<CliResult>,
  done: (r: CliResult) => boolean,
  ms: number,
): Promise<{ last: CliResult; afterMs: number }> {
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    const last = await attempt();
    const afterMs = performance.now() - t0;
    if (done(last) || afterMs > ms) return { last, afterMs };
  }
  throw new Error('poll ran out of attempts');
}

beforeAll(async () => {
  const authPort = await freePort();
  writeFileSync(
    join(dir, 'tp.yaml'),
    `cluster_name: livestate.test\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\nproxy: {listen: 127.0.0.1:0}\nssh: {name: live-node}\n`,
  );
  const started = Bun.spawn(
    [process.execPath, entry, 'start', '--config', join(dir, 'tp.yaml'), '--data-dir', dataDir],
    { stdout: 'pipe', stderr: 'ignore', env: { ...process.env, TP_LOG_FORMAT: 'json' } },
  );
  child = started;
  const reader = started.stdout.getReader();
  let out = '';
  while (!/then log in/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tp start exited: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  proxy = /proxy:\s+https:\/\/(\S+)/.exec(out)![1]!;
  await role('base', `metadata: {name: base}\nspec:\n  allow: {logins: ["${me}"], node_labels: {"*": "*"}}\n`);
  await addUser('wendy', 'base');
});

afterAll(async () => {
  child?.kill('SIGTERM');
  await child?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('cluster state changes reach a running tp start at once', () => {
  test('a role created with tp roles create is usable through the proxy at once', async () => {
    // The proxy and the node have read the roles just before (a cache would now hold the old list).
    expect((await as('wendy')(['ssh', 'live-node', 'true'])).code).toBe(0);
    await role('late', `metadata: {name: late}\nspec:\n  allow: {logins: ["${me}"], node_labels: {"*": "*"}}\n`);
    await addUser('carol', 'late');
    const { last, afterMs } = await pollFor(
      () => as('carol')(['ssh', 'live-node', 'echo with-the-new-role']),
      (r) => r.code === 0,
      1000,
    );
    expect(last.stderr).toBe('');
    expect(last.stdout).toBe('with-the-new-role\n');
    expect(afterMs).toBeLessThan(1000);
  });

  test('a deny added to a role refuses the next tp ssh within 1 s', async () => {
    expect((await as('carol')(['ssh', 'live-node', 'true'])).code).toBe(0);
    await role(
      'late',
      `metadata: {name: late}\nspec:\n  allow: {logins: ["${me}"], node_labels: {"*": "*"}}\n  deny: {logins: ["${me}"]}\n`,
      true,
    );
    const { last, afterMs } = await pollFor(
      () => as('carol')(['ssh', 'live-node', 'true']),
      (r) => r.code !== 0,
      1000,
    );
    expect(last.stderr).toContain(`login "${me}" is denied by role "late"`);
    expect(afterMs).toBeLessThan(1000);
  });

  test('a lock ends a live session within 1 s, and the next tp ssh is refused', async () => {
    const session = Bun.spawn([process.execPath, entry, 'ssh', 'live-node', 'echo started; sleep 30; echo never'], {
      env: { ...process.env, TP_HOME: join(dir, 'home-wendy') },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const reader = session.stdout.getReader();
    let out = '';
    while (!out.includes('started\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`session ended early: ${out}`);
      out += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const lock = await admin(['locks', 'add', '--user', 'wendy', '--message', 'laptop lost']);
    expect(lock.code).toBe(0);
    const locked = performance.now();
    const ended = await Promise.race([session.exited.then(() => 'ended'), Bun.sleep(1000).then(() => 'running')]);
    const afterMs = performance.now() - locked;
    if (ended === 'running') session.kill();
    expect(ended).toBe('ended');
    expect(afterMs).toBeLessThan(1000);
    const next = await as('wendy')(['ssh', 'live-node', 'true']);
    expect(next.code).not.toBe(0);
    expect(next.stderr).toContain('laptop lost');
  });
});
