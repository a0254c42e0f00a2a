import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainText } from '../core/audit/recording.ts';
import type { RecordingMeta } from '../core/audit/store.ts';
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

/** The finished recordings of `node`, exec first, once both have been uploaded. */
async function recordingsOf(node: string): Promise<{ exec: RecordingMeta; shell: RecordingMeta }> {
  let found: RecordingMeta[] = [];
  await waitFor(
    `both recordings of ${node}`,
    async () => {
      const list = JSON.parse((await admin(['recordings', 'ls', '--format', 'json'])).stdout) as RecordingMeta[];
      found = list.filter(
        (r) =>
          r.serverName === node && r.status === 'complete' && (r.kind === 'shell' || r.command?.includes('-exec-out')),
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
    expect(await play(aioRec.exec.sessionId)).toBe(plainText([[0, 'o', aio.exec]]));
    expect(await play(aioRec.shell.sessionId)).toBe(plainText([[0, 'o', aio.pty]]));
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
    expect(await play(farRec.exec.sessionId)).toBe(plainText([[0, 'o', far.exec]]));
    expect(await play(farRec.shell.sessionId)).toBe(plainText([[0, 'o', far.pty]]));
    expect(far.pty).toContain('far-pty-42');

    // Uploaded: the spools are empty, the store holds all four.
    await waitFor('the spools to empty', () =>
      [join(dataDir, 'spool', 'recordings'), join(agentDir, 'spool', 'recordings')].every(
        (d) => !existsSync(d) || readdirSync(d).length === 0,
      ),
    );
    const stored = readdirSync(join(dataDir, 'recordings'));
    for (const r of [aioRec, farRec])
      expect(stored).toEqual(expect.arrayContaining([r.exec.sessionId, r.shell.sessionId]));

    // Stopped and started again: every recording still plays.
    expect(await cluster.stop()).toBe(0);
    cluster = await startCluster(config);
    for (const r of [aioRec, farRec]) {
      expect(await play(r.exec.sessionId)).toContain('-exec-out\n');
      expect(await play(r.shell.sessionId)).toContain('-pty-42');
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
