import { hostname } from 'node:os';
import { defineCommand } from 'citty';
import { defaultDataDir } from '../core/config/defaults.ts';
import { BadParameter } from '../core/errors.ts';
import { loadRegistry } from '../core/plugin/registry.ts';
import pkg from '../package.json' with { type: 'json' };
import { PLUGINS } from '../plugins/index.ts';
import { listArg } from './lib/context.ts';
import { configFrom, runUntilSignal } from './lib/daemon.ts';
import { mergeFlagHelp } from './lib/help.ts';

/** Parses `k=v,k2=v2`. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of listArg(text)) {
    const i = pair.indexOf('=');
    if (i < 1) throw new BadParameter(`label "${pair}" must look like key=value`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** Every value of a repeatable `--name VALUE` / `--name=VALUE` flag, in order (citty keeps only the last). */
export function repeatedArg(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

/**
 * `tp agent start`, with the plugins' repeatable agent flags (`--db NAME=URI`, one per name). Built when the command
 * is loaded, not at import: top-level await would keep scripts/dist.ts from compiling tp to CommonJS bytecode.
 */
async function startCommand() {
  const registry = await loadRegistry(PLUGINS);
  const flagHelp = new Map<string, string[]>();
  for (const d of registry.all())
    if (d.flag) flagHelp.set(d.flag.name, [...(flagHelp.get(d.flag.name) ?? []), d.flag.description]);
  const pluginArgs = Object.fromEntries(
    [...flagHelp].map(([name, help]) => [name, { type: 'string' as const, description: mergeFlagHelp(help) }]),
  );

  return defineCommand({
    meta: {
      name: 'start',
      description:
        'Run an agent next to this host (SSH, and the resources of its plugins: --db ...). First start joins with a\n' +
        'token; later starts reuse the saved identity.\n' +
        'By default it keeps a reverse tunnel to the proxy (works behind NAT); --direct LISTEN lets the proxy dial it.\n' +
        'Example: tp agent start --proxy tp.example.com:3080 --token $TOKEN --labels env=prod,role=db',
    },
    args: {
      proxy: { type: 'string', description: 'Proxy address host:port (default: ssh.proxy of --config)' },
      token: { type: 'string', description: 'Join token (first start only)' },
      'ca-pin': { type: 'string', description: 'Expected cluster CA pin, sha256:... (printed by `tp tokens add`)' },
      name: { type: 'string', description: 'Node name (default: host name)' },
      labels: { type: 'string', description: 'Static labels k=v,k2=v2' },
      direct: { type: 'string', description: 'Listen here for the proxy instead of holding a tunnel (host:port)' },
      advertise: { type: 'string', description: 'Address the proxy should dial in --direct mode' },
      config: { type: 'string', description: 'Path to tp.yaml (uses its ssh section)' },
      'data-dir': { type: 'string', description: 'Where the agent keeps its identity' },
      ...pluginArgs,
    },
    run: async ({ args, rawArgs }) => {
      const cfg = await configFrom(args.config);
      const proxy = args.proxy ?? cfg.ssh.proxy;
      if (!proxy) throw new BadParameter('--proxy is required (or ssh.proxy in the --config tp.yaml)');
      const { composeCluster } = await import('../core/compose/index.ts');
      await runUntilSignal(
        () =>
          composeCluster(
            {
              ...cfg,
              auth: { ...cfg.auth, enabled: false },
              proxy: { ...cfg.proxy, enabled: false },
              ssh: {
                ...cfg.ssh,
                enabled: true,
                name: args.name ?? cfg.ssh.name ?? hostname(),
                labels: { ...cfg.ssh.labels, ...parseLabels(args.labels) },
                listen: args.direct ?? cfg.ssh.listen,
              },
            },
            {
              dataDir: args['data-dir'] ?? cfg.data_dir ?? defaultDataDir(),
              version: pkg.version,
              plugins: PLUGINS,
              join: { proxy, token: args.token ?? cfg.ssh.token, caPin: args['ca-pin'] ?? cfg.ssh.ca_pin },
              pluginFlags: Object.fromEntries([...flagHelp.keys()].map((f) => [f, repeatedArg(rawArgs, f)])),
              advertise: args.advertise,
            },
          ),
        ({ agent }) => {
          const where = agent!.directAddr ? `direct on ${agent!.directAddr}` : `tunnel to ${proxy}`;
          process.stdout.write(`agent ${agent!.hostId} running (${where})\n`);
        },
      );
    },
  });
}

export default defineCommand({
  meta: { name: 'agent', description: 'Run an agent next to a resource' },
  subCommands: {
    start: startCommand,
    install: () => import('./agentInstall.ts').then((m) => m.install),
    uninstall: () => import('./agentInstall.ts').then((m) => m.uninstall),
  },
});
