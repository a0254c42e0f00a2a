import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUsername } from '../core/client/localUser.ts';
import { type CliResult, tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type ImpairedRelay, startImpairedRelay } from './helpers/impairedRelay.ts';
import { type LinkedNamespace, linkedNamespace, netnsUnavailable } from './helpers/netns.ts';
import { freePort } from './helpers/sshd.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

// A device on a flaky link (issue: distribution and the IoT agent, item 4): `tp start` on the host, `tp agent start`
// inside its own network namespace behind a veth pair, the link impaired with tc netem or taken down.

const me = localUsername();
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const why = netnsUnavailable() ?? (existsSync(LIBFAKETIME) ? undefined : `no ${LIBFAKETIME} (Debian faketime)`);
if (why) console.warn(`!!! netFlaky tests SKIPPED: ${why}`);
const suite = why ? describe.skip : describe;

const dir = mkdtempSync(join(tmpdir(), 'tp-flaky-'));
const home = join(dir, 'home');
const dataDir = join(dir, 'data');
let ns: LinkedNamespace;
let cluster: TpDaemon;
let agent: TpDaemon;
let proxy = '';
let relay: ImpairedRelay | undefined;

const admin = (args: string[], stdin?: string) => tp([...args, '--data-dir', dataDir], { stdin });
const asDana = (args: string[]): Promise<CliResult> => tp(args, { env: { TP_HOME: home } });

async function audit(type: string): Promise<Record<string, unknown>[]> {
  const r = await admin(['audit', 'search', '--type', type, '--format', 'json']);
  if (r.code !== 0) throw new Error(`audit search: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

type Listed = {
  name: string;
  online: boolean;
  last_seen: string | null;
  link: { state: string; reason: string | null; skew_ms: number | null; last_outage: { reason: string } | null } | null;
};
async function listed(all = false): Promise<Listed[]> {
  const r = await asDana(['ls', ...(all ? ['--all'] : []), '--format', 'json']);
  if (r.code !== 0) throw new Error(`tp ls: ${r.stderr}`);
  return JSON.parse(r.stdout) as Listed[];
}

const online = async () => {
  const r = await asDana(['ls', '--format', 'json']);
  return (
    r.code === 0 &&
    (JSON.parse(r.stdout) as { name: string; online: boolean }[]).some((n) => n.name === 'flaky1' && n.online)
  );
};

beforeAll(async () => {
  if (why) return;
  ns = linkedNamespace(process.pid % 250);
  const port = await freePort();
  proxy = `${ns.hostIp}:${port}`;
  writeFileSync(
    join(dir, 'tp.yaml'),
    `cluster_name: flaky.test\nauth: {listen: 127.0.0.1:${await freePort()}, second_factor: "off"}\nproxy: {listen: "${proxy}", tunnel_keepalive: 10s}\n`,
  );
  // Debug logs are kept, and shown when a test fails.
  cluster = await startTpDaemon(['start', '--config', join(dir, 'tp.yaml'), '--data-dir', dataDir], /then log in/, {
    env: { TP_DEBUG: '1' },
  });
  const add = await admin(
    ['users', 'add', 'dana', '--roles', 'admin', '--logins', me, '--password-stdin'],
    'correct horse battery staple',
  );
  if (add.code !== 0) throw new Error(add.stderr);
  const t = JSON.parse((await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout) as {
    token: string;
    ca_pin: string;
  };
  const ca = join(dir, 'tls-ca.pem');
  writeFileSync(ca, (await admin(['ca', 'export', '--type', 'tls'])).stdout);
  const login = await tp(['login', '--proxy', proxy, '--user', 'dana', '--password-stdin', '--ca-cert', ca], {
    env: { TP_HOME: home },
    stdin: 'correct horse battery staple',
  });
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
  // The agent reaches the proxy through a relay on the host side of its link: a pass-through unless a test impairs it
  // (on kernels without netem).
  relay = await startImpairedRelay(ns.hostIp, proxy);
  agent = await startTpDaemon(
    [
      'agent',
      'start',
      '--proxy',
      relay.addr,
      '--token',
      t.token,
      '--ca-pin',
      t.ca_pin,
      '--name',
      'flaky1',
      '--data-dir',
      join(dir, 'agent'),
    ],
    /running/,
    { cmd: [...ns.exec, process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts')], env: { TP_DEBUG: '1' } },
  );
  await waitFor('flaky1 online', online, 20_000);
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await relay?.close();
  await cluster?.stop();
  ns?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Prints the tails of the cluster's and the agent's logs, so a failure in CI names what each side saw. */
function showLogs(): void {
  for (const [who, d] of [
    ['tp start', cluster],
    ['tp agent start', agent],
  ] as const) {
    process.stderr.write(`--- ${who} log (tail) ---\n${(d?.stderr() ?? '').split('\n').slice(-40).join('\n')}\n`);
  }
}

suite('an agent on a flaky link', () => {
  test('30 % loss and 300 ms latency: a session still works, slower', async () => {
    const how = { lossPct: 30, delayMs: 300 };
    const withNetem = ns.impair(how);
    if (!withNetem) {
      console.warn("!!! tc netem is not in this kernel: impairing the agent's link with a userspace relay instead");
      relay?.impair(how);
    }
    try {
      const t0 = performance.now();
      const r = await asDana(['ssh', `${me}@flaky1`, 'echo', 'through the storm']);
      if (r.code !== 0 || r.stdout.trim() !== 'through the storm') showLogs();
      expect({ code: r.code, out: r.stdout.trim(), err: r.stderr }).toMatchObject({
        code: 0,
        out: 'through the storm',
      });
      process.stderr.write(`netFlaky: tp ssh over 30% loss + 300 ms: ${Math.round(performance.now() - t0)} ms\n`);
    } finally {
      ns.clear();
      relay?.clear();
    }
  }, 90_000);

  test('link down for 60 s: the tunnel comes back by itself, and events from the outage arrive once', async () => {
    // A session is open when the link drops; its end is audited on the device while it is cut off.
    const held = Bun.spawn(
      [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts'), 'ssh', `${me}@flaky1`, 'sleep', '300'],
      {
        env: { ...process.env, TP_HOME: home },
        stdout: 'ignore',
        stderr: 'ignore',
      },
    );
    await waitFor('the held session started', async () => (await audit('session.start')).length > 0, 20_000);
    const sid = (await audit('session.start')).at(-1)!.session_id;
    ns.setLink(false);
    const downAt = performance.now();
    try {
      // While it is cut off, tp ls --all shows it offline with when it was last seen.
      await waitFor(
        'flaky1 listed offline',
        async () => (await listed(true)).some((n) => n.name === 'flaky1' && !n.online),
        55_000,
      );
      const off = (await listed(true)).find((n) => n.name === 'flaky1')!;
      expect(off.last_seen).toMatch(/^\d{4}-/);
      await Bun.sleep(Math.max(0, 60_000 - (performance.now() - downAt)));
    } finally {
      ns.setLink(true);
    }
    held.kill();
    const upAt = performance.now();
    await waitFor('flaky1 online again', online, 45_000);
    const back = Math.round(performance.now() - upAt);
    process.stderr.write(
      `netFlaky: tunnel back ${back} ms after the link returned (down ${Math.round(upAt - downAt)} ms)\n`,
    );
    const r = await asDana(['ssh', `${me}@flaky1`, 'echo', 'back']);
    expect(r.stdout.trim()).toBe('back');
    await waitFor(
      'the outage session end delivered',
      async () => (await audit('session.end')).some((e) => e.session_id === sid),
      30_000,
    );
    await Bun.sleep(3_000); // a duplicate delivery would land by now
    expect((await audit('session.end')).filter((e) => e.session_id === sid).length).toBe(1);
    // Its next heartbeat says why it was away.
    await waitFor(
      'the outage reported',
      async () => !!(await listed()).find((n) => n.name === 'flaky1')?.link?.last_outage,
      40_000,
    );
    expect((await listed()).find((n) => n.name === 'flaky1')!.link!.last_outage!.reason).toBe('connect');
  }, 200_000);

  test('a device clock 10 minutes off: a clear reason (clock_skew), not a TLS error', async () => {
    const t = JSON.parse((await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout) as {
      token: string;
      ca_pin: string;
    };
    const data = join(dir, 'skewed');
    // libfaketime in the agent process itself (the faketime wrapper would fork and outlive a SIGTERM).
    const clockOff = (offset: string) => ({
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME: offset,
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    const cmd = [...ns.exec, process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts')];
    // 10 minutes fast: it works (certificates are valid by its clock) and reports the offset in its heartbeat.
    const fast = await startTpDaemon(
      [
        'agent',
        'start',
        '--proxy',
        relay!.addr,
        '--token',
        t.token,
        '--ca-pin',
        t.ca_pin,
        '--name',
        'skewed1',
        '--data-dir',
        data,
      ],
      /running/,
      { cmd, env: clockOff('+10m') },
    );
    try {
      await waitFor(
        'skewed1 reports clock_skew',
        async () => (await listed()).find((n) => n.name === 'skewed1')?.link?.reason === 'clock_skew',
        40_000,
      );
      const n = (await listed()).find((x) => x.name === 'skewed1')!;
      expect(n.link).toMatchObject({ state: 'degraded', reason: 'clock_skew' });
      expect(Math.abs(n.link!.skew_ms! - 600_000)).toBeLessThan(60_000);
      expect(fast.stderr()).toContain("clock_skew: this device's clock is");
      const r = await asDana(['ssh', `${me}@skewed1`, 'echo', 'fast clock']);
      expect(r.stdout.trim()).toBe('fast clock');
    } finally {
      await fast.stop();
    }
    // 10 minutes slow: the proxy's certificate is not valid yet by its clock; the agent says so in plain words.
    const slow = await startTpDaemon(
      ['agent', 'start', '--proxy', relay!.addr, '--name', 'skewed1', '--data-dir', data],
      /running/,
      {
        cmd,
        env: clockOff('-10m'),
      },
    );
    try {
      await waitFor(
        'the slow agent names the reason',
        async () => slow.stderr().includes('agent offline: clock_skew'),
        30_000,
      );
      expect(slow.stderr()).toContain('fix the time (NTP)');
      const all = await listed(true);
      expect(all.find((x) => x.name === 'skewed1')).toMatchObject({ link: { reason: 'clock_skew' } });
    } finally {
      await slow.stop();
    }
  }, 120_000);
});
