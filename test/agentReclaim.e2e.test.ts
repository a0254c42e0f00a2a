// An idle `tp agent start` gives the runtime's code pages back to the kernel (ssh.reclaim_idle, on by default) and
// still serves `tp ssh` right after, and again once the session has ended; `reclaim_idle: false` keeps them.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entry } from './bench/cluster.ts';
import { type SpawnedAgent, spawnAgent } from './helpers/distAgent.ts';
import { type FixtureUser, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
let user: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([]);
  user = await f.user('lean', ['ops']);
}, 60_000);
afterAll(() => f?.close());

const PASS = 'gave idle code pages back to the kernel';

/** The reclaim passes the agent logged so far: resident file-backed KiB before and after each. */
function passes(a: SpawnedAgent): { before: number; after: number }[] {
  return a
    .errors()
    .split('\n')
    .filter((l) => l.includes(PASS))
    .map((l) => (JSON.parse(l) as { residentKiB: { before: number; after: number } }).residentKiB);
}

/** Polls (100 ms steps, up to `ms`) until `ok()` holds. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

async function agentWith(name: string, yaml: string): Promise<SpawnedAgent> {
  const config = join(f.dir, `${name}.yaml`);
  writeFileSync(config, yaml);
  return spawnAgent(f, [process.execPath, entry], {
    name,
    dataDir: join(f.dir, name),
    args: ['--config', config],
    env: { TP_DEBUG: '1', TP_LOG_FORMAT: 'json' },
    ms: 30_000,
  });
}

const residentFileKiB = (pid: number) =>
  Number(/RssFile:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

test('an idle agent gives its code pages back, then serves tp ssh, and gives them back again after it', async () => {
  const a = await agentWith('lean1', 'ssh: {}\n');
  try {
    await until(() => passes(a).length >= 1, 20_000, 'the first reclaim pass');
    const [first] = passes(a);
    // Pages only this agent maps went back (others, shared with the test's own Bun, stay: the kernel keeps them).
    expect(first!.after).toBeLessThan(first!.before);
    expect(residentFileKiB(a.pid)).toBeLessThan(first!.before);
    const ssh = await user.tp(['ssh', `${me}@lean1`, 'echo', 'still here']);
    expect(ssh.stdout, ssh.stderr).toBe('still here\n');
    expect(ssh.code).toBe(0);
    // The session's code (ssh2, ciphers) goes back once it has ended and the agent is quiet again.
    await until(() => passes(a).length >= 2, 20_000, 'the pass after the session');
    const again = await user.tp(['ssh', `${me}@lean1`, 'echo', 'and again']);
    expect(again.stdout, again.stderr).toBe('and again\n');
  } finally {
    await a.stop();
  }
}, 90_000);

test('ssh.reclaim_idle: false keeps the code pages resident', async () => {
  const a = await agentWith('lean2', 'ssh:\n  reclaim_idle: false\n');
  try {
    await until(() => a.errors().includes('idle code pages stay resident'), 20_000, 'the agent to say it keeps them');
    const ssh = await user.tp(['ssh', `${me}@lean2`, 'echo', 'ok']);
    expect(ssh.stdout, ssh.stderr).toBe('ok\n');
    expect(passes(a)).toEqual([]);
  } finally {
    await a.stop();
  }
}, 90_000);
