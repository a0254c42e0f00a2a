import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { AuditEventSchema } from '../core/api/schemas.ts';
import { plainText } from '../core/audit/recording.ts';
import { eventually } from './helpers/audit.ts';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
let f: SshFixture;
let alice: FixtureUser;
const admin = (args: string[]) => tp([...args, '--data-dir', f.cluster.auth.dataDir]);

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

type Recording = Output<'recordings ls'>[number];

/** The recording of `command` as `tp recordings ls --format json` lists it, once it is complete. */
async function recordingOf(command: string): Promise<Recording> {
  let found: Recording | undefined;
  await waitFor(`the recording of "${command}"`, async () => {
    const list = JSON.parse((await admin(['recordings', 'ls', '--format', 'json'])).stdout) as Recording[];
    found = list.find((r) => r.command === command && (r.status === 'complete' || r.status === 'interrupted'));
    return !!found;
  });
  return found!;
}

describe('audit events and session recordings', () => {
  test('a session through the proxy is audited and `tp play --format text` prints exactly what it printed', async () => {
    const command = 'echo first-line; printf "\\033[1;32mgreen-ok\\033[0m\\n"; echo to-stderr >&2; exit 2';
    const r = await alice.tp(['ssh', 'node1', command]);
    expect(r.code).toBe(2);
    const rec = await recordingOf(command);
    expect(rec).toMatchObject({ user: 'alice', server_name: 'node1', kind: 'exec', status: 'complete' });
    const text = await admin(['play', rec.session_id, '--format', 'text']);
    expect(text.stdout).toBe('first-line\ngreen-ok\nto-stderr\n');
    expect(plainText([[0, 'o', r.stdout + r.stderr]])).toBe(text.stdout);
    const pty = await admin(['play', rec.session_id, '--format', 'pty', '--speed', '100']);
    expect(pty.stdout).toBe(r.stdout);
    const events = JSON.parse(
      (await admin(['audit', 'search', '--session', rec.session_id, '--format', 'json'])).stdout,
    );
    // Newest first, like `tp recordings ls`.
    expect(events.map((e: { type: string }) => e.type)).toEqual(['session.end', 'exec', 'session.start']);
    expect(events[2]).toMatchObject({ user: 'alice', server_name: 'node1', session_id: rec.session_id });
    expect(events[0].exit_code).toBe(2);
  });

  test('tp recordings search finds a session by what it printed', async () => {
    const marker = `needle-${Math.random().toString(36).slice(2, 10)}`;
    await alice.tp(['ssh', 'node1', `echo ${marker}`]);
    const rec = await recordingOf(`echo ${marker}`);
    const found = JSON.parse((await admin(['recordings', 'search', marker.toUpperCase(), '--format', 'json'])).stdout);
    expect(found.map((x: Recording) => x.session_id)).toEqual([rec.session_id]);
    expect((await admin(['recordings', 'search', 'no-such-output-anywhere'])).stdout).toContain('no session printed');
  });

  test('tp audit export streams JSON lines and resumes from a cursor', async () => {
    const all = (await admin(['audit', 'export'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(all.length).toBeGreaterThan(5);
    const cursors = all.map((e: { cursor: number }) => e.cursor);
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    const mid = cursors[Math.floor(cursors.length / 2)] as number;
    const rest = await admin(['audit', 'export', '--cursor', String(mid)]);
    expect(
      rest.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).cursor),
    ).toEqual(cursors.filter((c: number) => c > mid));
    expect(rest.stderr).toContain(`resume with: tp audit export --cursor ${cursors.at(-1)}`);
  });

  test('kill -9 of the node mid-session: the recording up to the kill is uploaded after restart, events arrive once', async () => {
    const { token } = await f.cluster.auth.client.createToken({
      roles: ['node'],
      ttlMs: 600_000,
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'tp-crashy-'));
    const startAgentProcess = async (withToken: boolean) => {
      const child = Bun.spawn(
        [
          process.execPath,
          entry,
          'agent',
          'start',
          '--proxy',
          f.cluster.proxy.addr,
          '--name',
          'crashy',
          '--data-dir',
          dataDir,
          ...(withToken ? ['--token', token] : []),
        ],
        { stdout: 'pipe', stderr: 'ignore', env: { ...process.env, TP_LOG_FORMAT: 'json' } },
      );
      const reader = child.stdout.getReader();
      let out = '';
      while (!out.includes('running')) out += new TextDecoder().decode((await reader.read()).value);
      reader.releaseLock();
      return child;
    };
    const agent = await startAgentProcess(true);
    await waitFor('crashy online', async () => (await alice.tp(['ls'])).stdout.includes('crashy'));
    const command = 'for i in $(seq 1 100); do echo crash-line-$i; sleep 0.1; done';
    const session = Bun.spawn([process.execPath, entry, 'ssh', 'crashy', command], {
      env: { ...process.env, ...alice.env },
      stdout: 'pipe',
      stderr: 'ignore',
    });
    let seen = '';
    const reading = (async () => {
      for await (const c of session.stdout) seen += new TextDecoder().decode(c);
    })();
    await waitFor('25 lines of output', () => seen.includes('crash-line-25'));
    agent.kill('SIGKILL');
    await agent.exited;
    expect(await session.exited).toBe(255);
    await reading;
    const sessionsBefore = (await auditEvents(f, 'session.start')).filter((e) => e.server_name === 'crashy');
    const restarted = await startAgentProcess(false);
    try {
      const rec = await recordingOf(command);
      expect(rec.status).toBe('interrupted');
      const text = (await admin(['play', rec.session_id, '--format', 'text'])).stdout;
      // Everything flushed before the kill (parts are cut at least every second) is there, in order, once.
      const lines = text.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(10);
      expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `crash-line-${i + 1}`));
      expect(seen.startsWith(text)).toBe(true);
      await eventually(f.cluster.auth.admin, 'session.start', (e) => e.session_id === rec.session_id);
      const starts = (await auditEvents(f, 'session.start')).filter((e) => e.session_id === rec.session_id);
      expect(starts).toHaveLength(1);
      expect(sessionsBefore.length).toBeLessThanOrEqual(1);
      expect(readdirSync(join(dataDir, 'spool', 'recordings'))).toEqual([]);
    } finally {
      restarted.kill('SIGTERM');
      await restarted.exited;
    }
  });

  test('auth down during sessions: events spool on the node, then arrive in order', async () => {
    await f.cluster.auth.stop();
    const commands = ['echo outage-1', 'echo outage-2', 'echo outage-3'];
    for (const c of commands) {
      const r = await alice.tp(['ssh', 'node1', c]);
      expect(r.stdout).toBe(`${c.slice(5)}\n`);
    }
    const agent = f.cluster.agents.get('node1')!;
    await waitFor('events spooled on the node', () => agent.spool.pending >= 9);
    await Bun.sleep(Number(process.env.TP_TEST_OUTAGE_MS ?? 3000));
    await f.cluster.auth.restart();
    await waitFor('the spool to drain', () => agent.spool.pending === 0, 20_000);
    const execs = (await auditEvents(f, 'exec')).filter((e) => commands.includes(String(e.command)));
    expect(execs.map((e) => e.command)).toEqual(commands);
    for (const e of execs) {
      const types = (await auditEvents(f, 'session.start'))
        .concat(await auditEvents(f, 'session.end'))
        .filter((x) => x.session_id === e.session_id);
      expect(types.map((x) => x.type).sort()).toEqual(['session.end', 'session.start']);
    }
  });
});

describe('session_recording: off', () => {
  test('sessions are audited but not recorded', async () => {
    await using g = await startSshFixture([{ name: 'node1' }], { sessionRecording: 'off' });
    const u = await g.user('quiet', ['ops']);
    expect((await u.tp(['ssh', 'node1', 'echo unrecorded'])).stdout).toBe('unrecorded\n');
    await waitFor(
      'session.end',
      async () =>
        (await g.cluster.auth.admin.get(v.array(AuditEventSchema), '/v1/audit/events?type=session.end')).length === 1,
    );
    expect(await g.cluster.auth.client.listRecordings(1000)).toEqual([]);
    expect(existsSync(g.cluster.agentLayouts.get('node1')!.recordingSpool)).toBe(false);
  });
});

describe('a recordings store that rejects writes', () => {
  test('bounded retries, a visible failed status, and a spool that stays under its cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-badstore-'));
    const blocker = join(dir, 'not-a-directory');
    writeFileSync(blocker, 'x');
    await using g = await startSshFixture(
      [
        {
          name: 'node1',
          options: { uploadAttempts: 3, uploadBackoff: { baseMs: 50, maxMs: 100 }, recordingSpoolBytes: 3000 },
        },
      ],
      { recordings: { type: 'fs', path: join(blocker, 'recordings') } },
    );
    const bob = await g.user('bob', ['ops']);
    for (let i = 0; i < 4; i++) await bob.tp(['ssh', 'node1', `head -c 1500 /dev/zero | tr '\\\\0' x; echo run-${i}`]);
    const agent = g.cluster.agents.get('node1')!;
    await waitFor(
      'failed uploads reported',
      async () => {
        const list = JSON.parse(
          (await tp(['recordings', 'ls', '--format', 'json', '--data-dir', g.cluster.auth.dataDir])).stdout,
        ) as Recording[];
        return list.filter((r) => r.status === 'failed').length === 4;
      },
      30_000,
    );
    const list = await tp(['recordings', 'ls', '--data-dir', g.cluster.auth.dataDir]);
    expect(list.stdout).toContain('FAILED: the recordings store rejected part 1');
    await waitFor(
      'failure events',
      async () =>
        (await g.cluster.auth.admin.get(v.array(AuditEventSchema), '/v1/audit/events?type=recording.upload_failed'))
          .length === 4,
    );
    await agent.uploader.idle();
    await eventually(g.cluster.auth.admin, 'recording.evicted');
    const spoolDir = g.cluster.agentLayouts.get('node1')!.recordingSpool;
    const left = existsSync(spoolDir) ? readdirSync(spoolDir).length : 0;
    expect(left).toBeLessThan(4);
  });
});
