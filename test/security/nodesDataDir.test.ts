import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../../core/client/localUser.ts';
import { tp } from '../helpers/cli.ts';
import { waitFor } from '../helpers/cluster.ts';
import { startTpDaemon } from '../helpers/tpDaemon.ts';

// Finding 4 of issue 15: a data dir that already existed with 0755 (systemd's StateDirectory default) got
// backend.sqlite, audit.sqlite and their -wal/-shm files 0644, and an unprivileged user copied the user CA's private
// key out of it. Now every file tp creates there is 0600, every directory 0700, and an open data dir is tightened.

const work = mkdtempSync(join(tmpdir(), 'tp-datadir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every path under `dir` (itself included) whose mode lets group or others in, with that mode. */
function openToOthers(dir: string): string[] {
  const out: string[] = [];
  const visit = (p: string, depth: number) => {
    const st = statSync(p);
    const want = st.isDirectory() ? 0o700 : 0o600;
    if ((st.mode & 0o777) !== want) out.push(`${p.slice(dir.length) || '/'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory() && depth < 10) for (const e of readdirSync(p)) visit(join(p, e), depth + 1);
  };
  visit(dir, 0);
  return out;
}

/** Every file name under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('data dirs and ~/.tp are private', () => {
  test('tp start on a pre-existing 0755 data dir and ~/.tp: every file 0600, every directory 0700, after a session', async () => {
    const dataDir = join(work, 'data');
    mkdirSync(join(dataDir, 'admin'), { recursive: true });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'admin'), 0o755);
    const home = join(work, 'home');
    mkdirSync(home);
    chmodSync(home, 0o755);
    const config = join(work, 'tp.yaml');
    writeFileSync(
      config,
      'cluster_name: datadir.test\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n' +
        'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: dd-node}\n',
    );
    const daemon = await startTpDaemon(['start', '--config', config, '--data-dir', dataDir], /then log in/);
    try {
      const proxy = /proxy:\s+https:\/\/(\S+)/.exec(daemon.banner)![1]!;
      const me = localUsername();
      const add = await tp(['users', 'add', 'dora', '--roles', 'admin', '--logins', me, '--password-stdin'], {
        env: { TP_DATA_DIR: dataDir },
        stdin: 'correct horse battery staple',
      });
      expect(add.stderr).toBe('');
      const env = { TP_HOME: home };
      const login = await tp(['login', '--proxy', proxy, '--user', 'dora', '--password-stdin', '--insecure'], {
        env,
        stdin: 'correct horse battery staple',
      });
      expect(login.code).toBe(0);
      const ssh = await tp(['ssh', 'dd-node', 'echo', 'recorded'], { env });
      expect(ssh.stdout).toBe('recorded\n');
      await waitFor('the session recording in the recordings store', () =>
        filesUnder(dataDir).some((f) => f.startsWith('recordings/')),
      );
      const files = filesUnder(dataDir);
      for (const f of ['backend.sqlite', 'backend.sqlite-wal', 'audit.sqlite', 'audit.sqlite-wal', 'admin/tls.key'])
        expect(files).toContain(f);
      expect(openToOthers(dataDir)).toEqual([]);
      // ~/.tp: the directories are private, and so are the private keys (certificates and CAs are public).
      const keysDir = join(home, 'keys', readdirSync(join(home, 'keys'))[0]!);
      for (const d of [home, join(home, 'keys'), keysDir]) expect((statSync(d).mode & 0o777).toString(8)).toBe('700');
      for (const k of ['key', 'tls.key']) expect((statSync(join(keysDir, k)).mode & 0o777).toString(8)).toBe('600');
      expect(daemon.banner).not.toContain('error');
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
