import { defineCommand } from 'citty';
import { openRelay } from '../core/client/nodeConnection.ts';
import { requireProfile } from '../core/client/profile.ts';
import { DEFAULT_PROXY_LISTEN, DEFAULT_PROXY_SSH_LISTEN, defaultDataDir } from '../core/config/defaults.ts';
import { BadParameter, describe } from '../core/errors.ts';
import pkg from '../package.json' with { type: 'json' };
import { PLUGINS } from '../plugins/index.ts';
import { action, listArg } from './lib/context.ts';
import { configFrom, runUntilSignal } from './lib/daemon.ts';

const sshPipe = defineCommand({
  meta: {
    name: 'ssh',
    description:
      "Connect stdin/stdout to a node's SSH port through the proxy (for OpenSSH's ProxyCommand; `tp config` writes it).\n" +
      'usage: tp proxy ssh login@node[.cluster]:port',
  },
  args: { target: { type: 'positional', required: true, description: 'login@node:port' } },
  run: async ({ args }) => {
    try {
      const m = /^(?:([^@]+)@)?(.+?)(?::(\d+))?$/.exec(args.target);
      if (!m) throw new BadParameter('usage: tp proxy ssh login@node:port');
      const profile = requireProfile();
      const node = m[2]!.endsWith(`.${profile.cluster}`) ? m[2]!.slice(0, -(profile.cluster.length + 1)) : m[2]!;
      const relay = await openRelay(
        profile,
        node,
        m[1] ?? profile.logins[0] ?? profile.user,
        m[3] ? Number(m[3]) : undefined,
      );
      relay.sock.resume();
      process.stdin.pipe(relay.sock);
      relay.sock.pipe(process.stdout);
      relay.sock.on('close', () => process.exit(0));
      process.stdin.on('end', () => relay.sock.end());
    } catch (err) {
      process.stderr.write(`tp proxy ssh: ${describe(err)}\n`);
      process.exit(255);
    }
  },
});

const start = defineCommand({
  meta: {
    name: 'start',
    description:
      'Run a proxy that joins an existing cluster: tp proxy start --auth-server AUTH:3025 --token TOKEN (a `--type proxy` token).',
  },
  args: {
    config: { type: 'string', description: 'Path to tp.yaml (uses its proxy section)' },
    'data-dir': { type: 'string', description: 'Where the proxy keeps its identity' },
    'auth-server': { type: 'string', required: true, description: 'Auth server address(es), comma-separated' },
    token: { type: 'string', description: 'Join token (first start only)' },
    listen: { type: 'string', description: `TLS port (default ${DEFAULT_PROXY_LISTEN})` },
    'ssh-listen': { type: 'string', description: `SSH jump port for OpenSSH -J (default ${DEFAULT_PROXY_SSH_LISTEN})` },
    'public-addr': { type: 'string', description: 'Address clients use, host:port' },
    'ca-pin': { type: 'string', description: 'Expected cluster CA pin (sha256:...)' },
    'metrics-listen': { type: 'string', description: 'Plain-HTTP /metrics listener, host:port (default: none)' },
  },
  run: action(async (args) => {
    const cfg = await configFrom(args.config);
    const { composeCluster } = await import('../core/compose/index.ts');
    await runUntilSignal(
      () =>
        composeCluster(
          {
            ...cfg,
            auth: { ...cfg.auth, enabled: false },
            proxy: {
              ...cfg.proxy,
              enabled: true,
              listen: args.listen ?? cfg.proxy.listen,
              ssh_listen: args['ssh-listen'] ?? cfg.proxy.ssh_listen,
              public_addr: args['public-addr'] ?? cfg.proxy.public_addr,
              metrics_listen: args['metrics-listen'] ?? cfg.proxy.metrics_listen,
            },
            ssh: { ...cfg.ssh, enabled: false },
          },
          {
            dataDir: args['data-dir'] ?? cfg.data_dir ?? defaultDataDir(),
            version: pkg.version,
            plugins: PLUGINS,
            join: { authServers: listArg(args['auth-server']), token: args.token, caPin: args['ca-pin'] },
          },
        ),
      (cluster) => {
        process.stdout.write(`proxy listening on ${cluster.proxy!.addr}\n`);
      },
    );
  }),
});

export default defineCommand({
  meta: { name: 'proxy', description: 'Run a proxy, pipe SSH through one, or tunnel a database or a web app' },
  subCommands: {
    ssh: sshPipe,
    db: () => import('./dbTunnel.ts').then((m) => m.default),
    app: () => import('./proxyApp.ts').then((m) => m.default),
    start,
  },
});
