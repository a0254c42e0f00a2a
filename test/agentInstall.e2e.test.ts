import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../core/config/load.ts';
import { run, tp } from './helpers/cli.ts';
import { type FixtureUser, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// `tp agent install` on a host without systemd (this machine and CI containers run none): the files it writes,
// what it says to run instead, and that what it wrote really runs an agent that joins. Paths point into a temp dir.
const base = mkdtempSync(join(tmpdir(), 'tp-agent-install-'));
const layout = (name: string) => ({
  config: join(base, name, 'etc', 'tp.yaml'),
  units: join(base, name, 'units'),
  unit: join(base, name, 'units', 'tp-agent.service'),
  data: join(base, name, 'data'),
});
const flags = (l: ReturnType<typeof layout>) => ['--config', l.config, '--unit-dir', l.units, '--data-dir', l.data];
const mode = (p: string) => statSync(p).mode & 0o777;
const systemdRunning = existsSync('/run/systemd/system');
const analyze = Bun.which('systemd-analyze');
if (systemdRunning) console.warn('SKIPPING tp agent install tests: systemd runs here and they must not touch it');
if (!analyze) console.warn('systemd-analyze is not installed: the unit is not verified by systemd itself');

let f: SshFixture;
let alice: FixtureUser;
let token: { token: string; ca_pin: string };

beforeAll(async () => {
  f = await startSshFixture([]);
  alice = await f.user('alice', ['ops']);
  token = JSON.parse((await f.admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout);
});
afterAll(async () => {
  await f.close();
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(systemdRunning)('tp agent install / uninstall without systemd', () => {
  const l = layout('device');
  const install = (extra: string[] = []) =>
    tp([
      'agent',
      'install',
      '--proxy',
      f.cluster.proxy.addr,
      '--token',
      token.token,
      '--ca-pin',
      token.ca_pin,
      ...extra,
    ]);

  test('writes tp.yaml (0600, agent only) and a hardened unit, says what to run instead; the unit verifies', async () => {
    const r = await install(['--labels', 'site=lab,rack=4', '--name', 'device1', ...flags(l)]);
    expect(r.code, r.stderr).toBe(0);
    const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
    const startCmd = `${process.execPath} --no-env-file --config=/dev/null --no-install ${entry} agent start --config ${l.config}`;
    expect(r.stdout).toBe(
      `wrote ${l.config} (0600) and ${l.unit}\n` +
        'systemd is not running on this host (no /run/systemd/system), so nothing was started. Run the agent with\n' +
        `  ${startCmd}\n` +
        "under this host's service manager (it restarts it), or copy the unit to a host with systemd.\n",
    );
    // The temp dir is under /tmp, which the unit's PrivateTmp hides: said, not silently accepted.
    expect(r.stderr).toContain(`warning: ${l.config} is hidden from the service by its sandbox`);
    expect(mode(l.config)).toBe(0o600);
    expect(mode(l.unit)).toBe(0o644);
    expect(mode(l.data)).toBe(0o700);
    const cfg = parseConfig(readFileSync(l.config, 'utf8'), l.config);
    expect(cfg).toMatchObject({
      data_dir: l.data,
      auth: { enabled: false },
      proxy: { enabled: false },
      ssh: {
        enabled: true,
        name: 'device1',
        labels: { site: 'lab', rack: '4' },
        proxy: f.cluster.proxy.addr,
        token: token.token,
        ca_pin: token.ca_pin,
      },
    });
    const unit = readFileSync(l.unit, 'utf8');
    for (const line of [
      `ExecStart=${startCmd}`,
      'Restart=always',
      'RestartSec=2s',
      'StartLimitIntervalSec=0',
      'After=network-online.target',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      `ReadWritePaths=${l.data}`,
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    if (analyze) {
      const v = await run([analyze, 'verify', l.unit]);
      expect(v.code, v.stderr).toBe(0);
      // systemd < 254 does not know the backoff keys and ignores them; nothing else may be reported.
      const other = v.stderr.split('\n').filter((s) => s && !/Unknown key '(RestartSteps|RestartMaxDelaySec)'/.test(s));
      expect(other).toEqual([]);
    }
  });

  test('what it wrote runs: the printed command starts an agent that joins with the token and serves tp ssh', async () => {
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, '..', 'cmd', 'tp.ts')].concat(['agent', 'start', '--config', l.config]),
      { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, TP_LOG_FORMAT: 'json' } },
    );
    try {
      const deadline = Date.now() + 20_000;
      let out = '';
      const reader = child.stdout.getReader();
      while (!/running \(tunnel to /.test(out) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(out).toContain(`running (tunnel to ${f.cluster.proxy.addr})`);
      const hostId = /agent (\S+) running/.exec(out)![1]!;
      for (let i = 0; i < 200 && !f.cluster.proxy.tunnels.has(hostId); i++) await Bun.sleep(50);
      const r = await alice.tp(['ssh', 'device1', 'echo ok']);
      expect(r.stdout, r.stderr).toBe('ok\n');
      const ls = await alice.tp(['ls', 'site=lab', '--format', 'json']);
      expect(JSON.parse(ls.stdout).map((n: { name: string }) => n.name)).toEqual(['device1']);
    } finally {
      child.kill('SIGTERM');
      await child.exited;
    }
  });

  test('an existing install is not overwritten without --force', async () => {
    const before = readFileSync(l.config, 'utf8');
    const again = await install(['--labels', 'site=other', ...flags(l)]);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe(`error: ${l.config} exists; --force replaces it\n`);
    expect(readFileSync(l.config, 'utf8')).toBe(before);
    const forced = await install(['--name', 'device1', '--labels', 'site=lab,rack=4', '--force', ...flags(l)]);
    expect(forced.code, forced.stderr).toBe(0);
  });

  test('uninstall removes the unit and tp.yaml and keeps the identity; --purge removes it; again is a no-op', async () => {
    expect(existsSync(join(l.data, 'agent'))).toBe(true); // the join above saved the identity here
    const r = await tp(['agent', 'uninstall', '--config', l.config, '--unit-dir', l.units]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `removed ${l.unit} and ${l.config}\nkept the agent's identity in ${l.data} (--purge removes it)\n`,
    );
    expect(existsSync(l.unit) || existsSync(l.config)).toBe(false);
    expect(existsSync(l.data)).toBe(true);
    const again = await tp(['agent', 'uninstall', '--config', l.config, '--unit-dir', l.units]);
    expect(again.stdout).toBe(`nothing installed at ${l.unit} or ${l.config}\n`);

    const p = layout('purged');
    expect((await install(flags(p))).code).toBe(0);
    const purge = await tp(['agent', 'uninstall', '--purge', '--config', p.config, '--unit-dir', p.units]);
    expect(purge.stdout).toBe(`removed ${p.unit} and ${p.config}\nremoved the data dir ${p.data}\n`);
    expect(existsSync(p.data)).toBe(false);
  });

  test('--sandbox off writes no sandbox; a bad --ca-pin or --sandbox writes nothing', async () => {
    const off = layout('off');
    expect((await install(['--sandbox', 'off', ...flags(off)])).code).toBe(0);
    const unit = readFileSync(off.unit, 'utf8');
    expect(unit).toContain('Restart=always');
    expect(unit).not.toContain('ProtectSystem');
    expect(unit).not.toContain('NoNewPrivileges');

    const bad = layout('bad');
    const pin = await tp(['agent', 'install', '--proxy', f.cluster.proxy.addr, '--ca-pin', 'md5:00', ...flags(bad)]);
    expect(pin.code).toBe(2);
    expect(pin.stderr).toContain('ca_pin looks like sha256:<64 hex>');
    const sandbox = await install(['--sandbox', 'loose', ...flags(bad)]);
    expect(sandbox.code).toBe(2);
    expect(sandbox.stderr).toBe('error: --sandbox is "strict" or "off"\n');
    expect(existsSync(join(base, 'bad'))).toBe(false);
  });

  const setpriv = Bun.which('setpriv');
  test.skipIf(process.getuid?.() !== 0 || !setpriv)(
    'without the rights to write, it says to run it as root',
    async () => {
      const ro = join(base, 'readonly');
      mkdirSync(ro, { mode: 0o555 });
      chmodSync(base, 0o755);
      const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
      const r = await run(
        [
          setpriv!,
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          entry,
          'agent',
          'install',
        ].concat(['--proxy', '127.0.0.1:1', ...flags(layout('readonly'))]),
        { env: { HOME: ro } },
      );
      expect(r.code).toBe(5);
      expect(r.stderr).toBe(
        `error: EACCES: permission denied, mkdir '${join(ro, 'data')}': installing a service needs root (sudo tp agent install ...)\n`,
      );
    },
  );
});
