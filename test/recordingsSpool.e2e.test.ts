import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { plainText } from '../core/audit/recording.ts';
import { localUsername } from '../core/client/localUser.ts';
import { tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { tpOnPty } from './helpers/ptyClient.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

const me = localUsername();
const PASSWORD = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'tp-spool-e2e-'));
const dataDir = join(dir, 'data');
const home = { TP_HOME: join(dir, 'home') };
const running: TpDaemon[] = [];
afterAll(async () => {
  for (const d of running) await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (args: string[], stdin?: string) => tp([...args, '--data-dir', dataDir], { stdin });

async function startCluster(config: string): Promise<TpDaemon> {
  const d = await startTpDaemon(['start', '--config', config], /log in and connect:/i);
  running.push(d);
  return d;
}

/** One exec and one PTY session on `node`; returns what each printed at the user's end. */
async function twoSessions(node: string, tag: string): Promise<{ exec: string; pty: string }> {
  const command = `echo ${tag}-exec-out; echo ${tag}-exec-err >&2`;
  const r = await tp(['ssh', node, command], { env: home });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${tag}-exec-out\n`);
  const shell = tpOnPty(['ssh', node], home);
  // Type at the remote prompt, so the terminal shows only what the remote side printed.
  await shell.waitFor(/[#$] $/);
  shell.type(`echo ${tag}-pty-$((6*7))\r`);
  await shell.waitFor(new RegExp(`${tag}-pty-42`));
  shell.type('exit\r');
  expect(await shell.exited()).toBe(0);
  return { exec: r.stdout + r.stderr, pty: shell.output() };
}

type Recording = Output<'recordings ls'>[number];

/** The finished recordings of `node`, exec first, once both have been uploaded. */
async function recordingsOf(node: string): Promise<{ exec: Recording; shell: Recording }> {
  let found: Recording[] = [];
  await waitFor(
    `both recordings of ${node}`,
    async () => {
      const list = JSON.parse((await admin(['recordings', 'ls', '--format', 'json'])).stdout) as Recording[];
      found = list.filter(
        (r) =>
          r.server_name === node && r.status === 'complete' && (r.kind === 'shell' || r.command?.includes('-exec-out')),
      );
      return found.length === 2;
    },
    30_000,
  );
  return { exec: found.find((r) => r.kind === 'exec')!, shell: found.find((r) => r.kind === 'shell')! };
}

async function play(sessionId: string): Promise<string> {
  const r = await admin(['play', sessionId, '--format', 'text']);
  expect(r.stderr).not.toContain('missing');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('recordings of a real `tp start` cluster', () => {
  test('exec and PTY sessions on the all-in-one node and a standalone agent play back, also after a restart', async () => {
    const [authPort, proxyPort, jumpPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'tp.yaml');
    writeFileSync(
      config,
      `cluster_name: spool.test\ndata_dir: ${dataDir}\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
        `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:${jumpPort}}\nssh: {name: node1}\n`,
    );
    let cluster = await startCluster(config);
    const proxy = `127.0.0.1:${proxyPort}`;
    const add = await admin(
      ['users', 'add', 'alice', '--roles', 'admin', '--logins', me, '--password-stdin'],
      PASSWORD,
    );
    expect(add.code).toBe(0);
    const login = await tp(['login', '--proxy', proxy, '--user', 'alice', '--password-stdin', '--insecure'], {
      env: home,
      stdin: PASSWORD,
    });
    expect(login.code).toBe(0);

    // The all-in-one node: its spool and the auth's store live in the same data dir.
    const aio = await twoSessions('node1', 'aio');
    const aioRec = await recordingsOf('node1');
    expect(await play(aioRec.exec.session_id)).toBe(plainText([[0, 'o', aio.exec]]));
    expect(await play(aioRec.shell.session_id)).toBe(plainText([[0, 'o', aio.pty]]));
    expect(aio.pty).toContain('aio-pty-42');

    // A standalone agent whose data dir shares nothing with auth's.
    const agentDir = join(dir, 'far-agent');
    const token = JSON.parse((await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout).token;
    const agent = await startTpDaemon(
      ['agent', 'start', '--proxy', proxy, '--token', token, '--name', 'far', '--data-dir', agentDir],
      /running/,
    );
    running.push(agent);
    await waitFor('far online', async () => (await tp(['ssh', 'far', 'true'], { env: home })).code === 0, 20_000);
    const far = await twoSessions('far', 'far');
    const farRec = await recordingsOf('far');
    expect(await play(farRec.exec.session_id)).toBe(plainText([[0, 'o', far.exec]]));
    expect(await play(farRec.shell.session_id)).toBe(plainText([[0, 'o', far.pty]]));
    expect(far.pty).toContain('far-pty-42');

    // Uploaded: the spools are empty, the store holds all four.
    await waitFor('the spools to empty', () =>
      [join(dataDir, 'spool', 'recordings'), join(agentDir, 'spool', 'recordings')].every(
        (d) => !existsSync(d) || readdirSync(d).length === 0,
      ),
    );
    const stored = readdirSync(join(dataDir, 'recordings'));
    for (const r of [aioRec, farRec])
      expect(stored).toEqual(expect.arrayContaining([r.exec.session_id, r.shell.session_id]));

    // Stopped and started again: every recording still plays.
    expect(await cluster.stop()).toBe(0);
    cluster = await startCluster(config);
    for (const r of [aioRec, farRec]) {
      expect(await play(r.exec.session_id)).toContain('-exec-out\n');
      expect(await play(r.shell.session_id)).toContain('-pty-42');
    }
  }, 150_000);
});

describe('a recordings store that overlaps the spool', () => {
  test('tp start and tp agent start refuse it before starting anything', async () => {
    const d = join(dir, 'overlap');
    const config = join(dir, 'overlap.yaml');
    writeFileSync(
      config,
      `data_dir: ${d}\nauth: {listen: 127.0.0.1:0, second_factor: "off", recordings: {type: fs, path: ${d}/spool}}\n` +
        'proxy: {listen: 127.0.0.1:0, ssh_listen: 127.0.0.1:0}\n',
    );
    for (const args of [
      ['start', '--config', config],
      ['agent', 'start', '--config', config, '--proxy', '127.0.0.1:1', '--token', 'x'],
    ]) {
      const r = await tp(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`the recordings store (${d}/spool) and the node's recording spool`);
    }
    expect(existsSync(join(d, 'admin'))).toBe(false);
  });
});

describe('a data dir from before the spool moved', () => {
  test('a session the node had not uploaded, left in the store directory as tp did then, is moved, uploaded and plays', async () => {
    const [authPort, proxyPort, jumpPort] = [await freePort(), await freePort(), await freePort()];
    const old = join(dir, 'old-layout');
    const config = join(dir, 'old-layout.yaml');
    writeFileSync(
      config,
      `cluster_name: old.test\ndata_dir: ${old}\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
        `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:${jumpPort}}\nssh: {name: node1}\n`,
    );
    const first = await startCluster(config);
    const oldAdmin = (args: string[], stdin?: string) => tp([...args, '--data-dir', old], { stdin });
    await oldAdmin(['users', 'add', 'olga', '--roles', 'admin', '--logins', me, '--password-stdin'], PASSWORD);
    const env = { TP_HOME: join(dir, 'home-old') };
    await tp(['login', '--proxy', `127.0.0.1:${proxyPort}`, '--user', 'olga', '--password-stdin', '--insecure'], {
      env,
      stdin: PASSWORD,
    });
    const command = 'for i in $(seq 1 100); do echo old-line-$i; sleep 0.1; done';
    const session = Bun.spawn(
      [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts'), 'ssh', 'node1', command],
      {
        env: { ...process.env, ...env },
        stdout: 'pipe',
        stderr: 'ignore',
      },
    );
    let seen = '';
    const reading = (async () => {
      for await (const c of session.stdout) seen += new TextDecoder().decode(c);
    })();
    await waitFor('20 lines of output', () => seen.includes('old-line-20'));
    first.child.kill('SIGKILL');
    await first.child.exited;
    expect(await session.exited).toBe(255);
    await reading;

    // Lay the node's spool out as tp did before: inside the recordings store's directory, beside stored parts.
    const spool = join(old, 'spool', 'recordings');
    const store = join(old, 'recordings');
    const pending = readdirSync(spool);
    expect(pending).toHaveLength(1);
    const sid = pending[0]!;
    mkdirSync(join(store, sid), { recursive: true });
    for (const f of readdirSync(join(spool, sid))) renameSync(join(spool, sid, f), join(store, sid, f));
    rmSync(join(old, 'spool'), { recursive: true });
    const storedBefore = readdirSync(join(store, sid)).filter((f) => /^\d+\.jsonl$/.test(f));
    expect(storedBefore.length).toBeGreaterThan(0);

    await startCluster(config);
    let rec: Recording | undefined;
    await waitFor(
      'the old session uploaded',
      async () => {
        const list = JSON.parse((await oldAdmin(['recordings', 'ls', '--format', 'json'])).stdout) as Recording[];
        rec = list.find((r) => r.session_id === sid && r.status === 'interrupted');
        return !!rec;
      },
      20_000,
    );
    const text = (await oldAdmin(['play', sid, '--format', 'text'])).stdout;
    const lines = text.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `old-line-${i + 1}`));
    expect(seen.startsWith(text)).toBe(true);
    // What was stored before the move is still there; the spool's own files left the store's directory.
    const after = readdirSync(join(store, sid));
    expect(after).toEqual(expect.arrayContaining(storedBefore));
    expect(after.filter((f) => f === 'meta.json' || f.startsWith('part-'))).toEqual([]);
  }, 90_000);
});
