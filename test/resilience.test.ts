import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckSchema } from '../core/api/schemas.ts';
import { tp } from './helpers/cli.ts';
import { startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';
import { type FixtureUser, me, PASSWORD } from './helpers/sshFixture.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
let c: TestCluster;
let user: FixtureUser;

beforeAll(async () => {
  c = await startTestCluster({
    agents: Array.from({ length: 20 }, (_, i) => ({
      name: `iot-${String(i).padStart(2, '0')}`,
      labels: { fleet: 'iot' },
      // First reconnect uniform in [200, 400] ms: wide enough that the spread check below tells jitter from a herd
      // whose accepts are merely serialised by TLS handshakes, and narrow enough to keep the test quick.
      options: { backoff: { baseMs: 400, maxMs: 2000 } },
    })),
  });
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'fleet' }, spec: { allow: { logins: [me], node_labels: { '*': '*' } } } },
  });
  await c.auth.client.createUser({ name: 'ops', roles: ['fleet'], logins: [me], password: PASSWORD });
  const home = mkdtempSync(join(tmpdir(), 'tp-res-home-'));
  user = {
    name: 'ops',
    home,
    env: { TP_HOME: home },
    tp: (args, o = {}) => tp(args, { env: { TP_HOME: home, ...o.env }, stdin: o.stdin }),
  };
  const login = await user.tp(['login', '--proxy', c.proxy.addr, '--user', 'ops', '--password-stdin', '--insecure'], {
    stdin: PASSWORD,
  });
  expect(login.code).toBe(0);
});
afterAll(async () => c.close());

describe('resilience', () => {
  test('a proxy restart with 20 tunnel agents: all come back, spread out by jitter, and new sessions work', async () => {
    const ids = [...c.agents.values()].map((a) => a.hostId);
    expect(ids.every((id) => c.proxy.tunnels.has(id))).toBe(true);
    const t0 = Date.now();
    const proxy = await c.restartProxy();
    await waitFor('all 20 tunnels back', () => ids.every((id) => proxy.tunnels.has(id)), 20_000);
    const times = ids.map((id) => proxy.tunnels.acceptedAt(id)! - t0).sort((a, b) => a - b);
    // Jitter: reconnects are spread out, not one thundering herd at the same instant.
    // With 20 agents over a 200 ms window, a spread under 100 ms has odds of about 2e-5 (it was 7% with a 25 ms window).
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(100);
    expect(new Set(times.map((t) => Math.floor(t / 5))).size).toBeGreaterThan(5);
    const r = await user.tp(['ssh', 'iot-07', 'echo alive-after-restart']);
    expect(r.stdout).toBe('alive-after-restart\n');
    expect(r.code).toBe(0);
  });

  test('killing an agent mid-session ends that session cleanly and leaves others running', async () => {
    const spawnSsh = (node: string, cmd: string) =>
      Bun.spawn([process.execPath, entry, 'ssh', node, cmd], {
        env: { ...process.env, ...user.env },
        stdout: 'pipe',
        stderr: 'pipe',
      });
    const doomed = spawnSsh('iot-01', 'echo started; sleep 30; echo never');
    const survivor = spawnSsh('iot-02', 'echo started; sleep 2; echo finished');
    /** Collects a stream's text; `started` resolves once the first line arrived. */
    const collect = (s: ReadableStream<Uint8Array>) => {
      let text = '';
      let markStarted!: () => void;
      const started = new Promise<void>((r) => {
        markStarted = r;
      });
      const all = (async () => {
        for await (const chunk of s) {
          text += new TextDecoder().decode(chunk);
          if (text.includes('\n')) markStarted();
        }
        markStarted();
        return text;
      })();
      return { started, all };
    };
    const doomedOut = collect(doomed.stdout);
    const survivorOut = collect(survivor.stdout);
    await Promise.all([doomedOut.started, survivorOut.started]);
    const killedAt = Date.now();
    await c.agents.get('iot-01')!.close();
    expect(await doomed.exited).toBe(255);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(await doomedOut.all).toBe('started\n');
    expect(await survivor.exited).toBe(0);
    expect(await survivorOut.all).toBe('started\nfinished\n');
  });
});
