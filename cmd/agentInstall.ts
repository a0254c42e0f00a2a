import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { parseConfig } from '../core/config/load.ts';
import { AccessDenied, AlreadyExists, BadParameter, describe, Unavailable } from '../core/errors.ts';
import { parseLabels } from './agent.ts';
import { renderAgentConfig, renderUnit, UNIT_NAME } from './lib/agentService.ts';
import { action } from './lib/context.ts';
import { selfCommand } from './lib/self.ts';

const DEFAULTS = { config: '/etc/tp/tp.yaml', unitDir: '/etc/systemd/system', dataDir: '/var/lib/tp' };

/** Whether systemd runs this machine (its documented test: /run/systemd/system exists). */
const systemdRunning = () => existsSync('/run/systemd/system');

/** Writes a file whole (temp file, then rename) with exactly `mode`. */
function writeFileAtomic(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tp-new`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Runs systemctl; a failure carries its stderr. */
function systemctl(args: string[]): void {
  const r = Bun.spawnSync(['systemctl', ...args], { stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Unavailable(`systemctl ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
}

/**
 * Paths the strict sandbox hides from the service (ProtectHome=yes: /home, /root, /run/user; PrivateTmp=yes: a
 * private /tmp and /var/tmp): a tp binary, tp.yaml or data dir kept there leaves a unit that cannot start.
 */
function hiddenBySandbox(spec: { exec: string[]; configPath: string; dataDir: string }): string[] {
  return [...spec.exec, spec.configPath, spec.dataDir].filter((p) =>
    /^\/(home|root|run\/user|tmp|var\/tmp)(\/|$)/.test(p),
  );
}

const paths = {
  config: { type: 'string', description: `Where to write tp.yaml (default ${DEFAULTS.config})` },
  'unit-dir': { type: 'string', description: `Where to write ${UNIT_NAME} (default ${DEFAULTS.unitDir})` },
} as const;

/** `tp agent install`: tp.yaml + a systemd unit for this host's agent, then starts it where systemd runs. */
export const install = defineCommand({
  meta: {
    name: 'install',
    description:
      `Install this host's agent as a systemd service (${UNIT_NAME}): writes tp.yaml (mode 0600, it holds the join\n` +
      'token) and the unit (restarts forever, sandboxed), then runs systemctl daemon-reload and enable --now.\n' +
      'Without systemd it writes the files and prints how to start the agent instead.\n' +
      'Example: tp agent install --proxy tp.example.com:3080 --token $TOKEN --ca-pin sha256:... --labels site=a',
  },
  args: {
    proxy: { type: 'string', required: true, description: 'Proxy address host:port' },
    token: { type: 'string', description: 'Join token (used at the first start)' },
    'ca-pin': { type: 'string', description: 'Expected cluster CA pin, sha256:... (printed by `tp tokens add`)' },
    name: { type: 'string', description: 'Node name (default: host name)' },
    labels: { type: 'string', description: 'Static labels k=v,k2=v2' },
    'data-dir': { type: 'string', description: `Where the agent keeps its identity (default ${DEFAULTS.dataDir})` },
    ...paths,
    sandbox: {
      type: 'string',
      default: 'strict',
      description: 'strict (read-only system, no /home, no privilege gain, also for sessions) or off',
    },
    start: { type: 'boolean', default: true, description: 'Enable and start it now (--no-start: only write files)' },
    force: { type: 'boolean', description: 'Replace an existing tp.yaml and unit' },
  },
  run: action((args) => {
    if (args.sandbox !== 'strict' && args.sandbox !== 'off') throw new BadParameter('--sandbox is "strict" or "off"');
    const configPath = resolve(args.config ?? DEFAULTS.config);
    const unitPath = join(resolve(args['unit-dir'] ?? DEFAULTS.unitDir), UNIT_NAME);
    const spec = {
      proxy: args.proxy,
      token: args.token,
      caPin: args['ca-pin'],
      name: args.name,
      labels: parseLabels(args.labels),
      dataDir: resolve(args['data-dir'] ?? DEFAULTS.dataDir),
      configPath,
      exec: selfCommand(),
      sandbox: args.sandbox,
    } as const;
    const config = renderAgentConfig(spec);
    parseConfig(config, configPath); // what we write must load (bad --proxy, --ca-pin or labels fail here)
    for (const p of [configPath, unitPath]) {
      if (existsSync(p) && !args.force) throw new AlreadyExists(`${p} exists; --force replaces it`);
    }
    try {
      mkdirSync(spec.dataDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(configPath, config, 0o600);
      writeFileAtomic(unitPath, renderUnit(spec), 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      throw new AccessDenied(`${describe(err)}: installing a service needs root (sudo tp agent install ...)`);
    }
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`wrote ${configPath} (0600) and ${unitPath}`);
    for (const p of spec.sandbox === 'strict' ? hiddenBySandbox(spec) : []) {
      process.stderr.write(
        `warning: ${p} is hidden from the service by its sandbox (ProtectHome, PrivateTmp), so it will not start: ` +
          'keep tp in /usr/local/bin, tp.yaml in /etc/tp and the data dir in /var/lib, or pass --sandbox off\n',
      );
    }
    const startCmd = `${spec.exec.join(' ')} agent start --config ${configPath}`;
    if (!systemdRunning()) {
      out('systemd is not running on this host (no /run/systemd/system), so nothing was started. Run the agent with');
      out(`  ${startCmd}`);
      out("under this host's service manager (it restarts it), or copy the unit to a host with systemd.");
      return;
    }
    if (!args.start) {
      out(`not started (--no-start): systemctl daemon-reload && systemctl enable --now ${UNIT_NAME}`);
      return;
    }
    systemctl(['daemon-reload']);
    systemctl(['enable', '--now', UNIT_NAME]);
    out(`${UNIT_NAME} enabled and started: systemctl status ${UNIT_NAME}; journalctl -u ${UNIT_NAME}`);
  }),
});

/** `tp agent uninstall`: stops and disables the service, removes its unit and tp.yaml (--purge: the identity). */
export const uninstall = defineCommand({
  meta: {
    name: 'uninstall',
    description:
      `Stop and disable ${UNIT_NAME} and remove the files \`tp agent install\` wrote. The agent's identity in its\n` +
      'data dir is kept (a reinstall rejoins as the same node) unless --purge.',
  },
  args: {
    ...paths,
    purge: { type: 'boolean', description: "Also delete the agent's data dir (named in tp.yaml)" },
  },
  run: action((args) => {
    const configPath = resolve(args.config ?? DEFAULTS.config);
    const unitPath = join(resolve(args['unit-dir'] ?? DEFAULTS.unitDir), UNIT_NAME);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const dataDir = existsSync(configPath)
      ? parseConfig(readFileSync(configPath, 'utf8'), configPath).data_dir
      : undefined;
    if (systemdRunning() && existsSync(unitPath)) systemctl(['disable', '--now', UNIT_NAME]);
    const removed = [unitPath, configPath].filter((p) => existsSync(p));
    for (const p of removed) rmSync(p);
    if (systemdRunning() && removed.includes(unitPath)) systemctl(['daemon-reload']);
    out(removed.length ? `removed ${removed.join(' and ')}` : `nothing installed at ${unitPath} or ${configPath}`);
    if (args.purge && dataDir && existsSync(dataDir)) {
      rmSync(dataDir, { recursive: true });
      out(`removed the data dir ${dataDir}`);
    } else if (dataDir && existsSync(dataDir)) out(`kept the agent's identity in ${dataDir} (--purge removes it)`);
  }),
});
