import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { localUsername } from '../core/client/localUser.ts';
import { tp } from './helpers/cli.ts';
import { startTestCluster, waitFor } from './helpers/cluster.ts';
import { startTpDaemon } from './helpers/tpDaemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PASSWORD = 'correct horse battery staple';

/** The store and spool `tp start` reports in its banner for this tp.yaml. */
async function tpStartPaths(yaml: string): Promise<{ store: string; spool: string }> {
  const file = join(dir, `tp-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const d = await startTpDaemon(['start', '--config', file], /log in and connect/i);
  expect(await d.stop()).toBe(0);
  const m = /recordings: (\S+) \(spool: (\S+)\)/.exec(d.banner);
  if (!m) throw new Error(`no recordings line in the banner: ${d.banner}`);
  return { store: m[1]!, spool: m[2]! };
}

describe('one composition for tp start and the test cluster', () => {
  test('the test cluster records where tp start would, for the same tp.yaml (default store)', async () => {
    const dataDir = join(dir, 'default');
    const yaml =
      `cluster_name: same.test\ndata_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n';
    const c = await startTestCluster({ config: yaml });
    let sessionId: string;
    try {
      expect(c.agents.has('aio')).toBe(true);
      const admin = (args: string[], stdin?: string) => tp([...args, '--data-dir', dataDir], { stdin });
      expect(
        (
          await admin(
            ['users', 'add', 'ann', '--roles', 'admin', '--logins', localUsername(), '--password-stdin'],
            PASSWORD,
          )
        ).code,
      ).toBe(0);
      const home = { TP_HOME: join(dir, 'home') };
      await tp(['login', '--proxy', c.proxy.addr, '--user', 'ann', '--password-stdin', '--insecure'], {
        env: home,
        stdin: PASSWORD,
      });
      expect((await tp(['ssh', 'aio', 'echo composed'], { env: home })).stdout).toBe('composed\n');
      let rec: Output<'recordings ls'>[number] | undefined;
      await waitFor('the recording', async () => {
        const list = JSON.parse(
          (await admin(['recordings', 'ls', '--format', 'json'])).stdout,
        ) as Output<'recordings ls'>;
        rec = list.find((r) => r.command === 'echo composed' && r.status === 'complete');
        return !!rec;
      });
      sessionId = rec!.session_id;
      // The in-process node spooled and the auth stored where the layout says.
      expect(readdirSync(c.layout.recordingsStore!)).toContain(sessionId);
      await waitFor('the spool to empty', () => readdirSync(c.layout.recordingSpool).length === 0);
    } finally {
      await c.close();
    }
    const fromTpStart = await tpStartPaths(yaml);
    expect(fromTpStart).toEqual({ store: c.layout.recordingsStore!, spool: c.layout.recordingSpool });
    expect(fromTpStart).toEqual({ store: join(dataDir, 'recordings'), spool: join(dataDir, 'spool', 'recordings') });
    expect(existsSync(join(fromTpStart.store, sessionId!))).toBe(true);
  }, 90_000);

  test('the same holds for a recordings store named in tp.yaml', async () => {
    const dataDir = join(dir, 'named');
    const store = join(dir, 'elsewhere', 'recordings');
    const yaml =
      `data_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off", recordings: {type: fs, path: ${store}}}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n';
    const c = await startTestCluster({ config: yaml });
    const inProcess = { store: c.layout.recordingsStore!, spool: c.layout.recordingSpool };
    await c.close();
    expect(inProcess).toEqual({ store, spool: join(dataDir, 'spool', 'recordings') });
    expect(await tpStartPaths(yaml)).toEqual(inProcess);
  }, 60_000);
});
