import { hostname } from 'node:os';
import { defineCommand } from 'citty';
import type { ComposedCluster } from '../core/compose/index.ts';
import { defaultDataDir, userDataDir } from '../core/config/defaults.ts';
import { BadParameter } from '../core/errors.ts';
import pkg from '../package.json' with { type: 'json' };
import { PLUGINS } from '../plugins/index.ts';
import { action } from './lib/context.ts';
import { configFrom, runUntilSignal } from './lib/daemon.ts';

export default defineCommand({
  meta: {
    name: 'start',
    description:
      'Run the services enabled in tp.yaml; with no config, the all-in-one cluster: auth + proxy + an SSH agent for\n' +
      'this host, on the embedded SQLite store in the data dir.',
  },
  args: {
    config: { type: 'string', description: 'Path to tp.yaml' },
    'data-dir': {
      type: 'string',
      description: `Data dir (default: data_dir from tp.yaml, else TP_DATA_DIR, else ${userDataDir()})`,
    },
  },
  run: action(async (args) => {
    const cfg = await configFrom(args.config);
    const dataDir = args['data-dir'] ?? cfg.data_dir ?? defaultDataDir();
    if (!cfg.auth.enabled)
      throw new BadParameter('tp start runs the auth service; use `tp proxy start` / `tp agent start` for the others');
    const { composeCluster } = await import('../core/compose/index.ts');
    await runUntilSignal(
      () => composeCluster(cfg, { dataDir, version: pkg.version, plugins: PLUGINS }),
      (cluster) => printBanner(cluster, cfg.ssh.name ?? hostname()),
    );
  }),
});

/** What runs where, and the first steps: add a user (when there is none), log in, connect. */
async function printBanner({ auth, proxy, agent, layout }: ComposedCluster, node: string): Promise<void> {
  const lines = [
    `tp cluster "${auth!.service.cluster}" is up.`,
    `  auth API:  ${auth!.addr} (mTLS)`,
    `  data dir:  ${layout.dataDir}`,
    `  recordings: ${layout.recordingsStore ?? 'S3 bucket'} (spool: ${layout.recordingSpool})`,
  ];
  if (proxy)
    lines.push(
      `  proxy:     https://${proxy.publicAddr} (web UI and API, SSH relay, tunnels)`,
      `  web UI:    https://${proxy.publicAddr}/web`,
      `  ssh jump:  ${proxy.sshAddr} (ssh -J)`,
    );
  if (agent) lines.push(`  ssh node:  ${node} (${agent.hostId})`);
  const firstUser = (await auth!.service.deps.users.list()).length === 0;
  if (firstUser)
    lines.push(
      'Add the first user (on this host):',
      `  echo "a-long-password" | npx tp users add alice --roles admin --logins $(whoami) --password-stdin --data-dir ${layout.dataDir}`,
    );
  lines.push(
    `${firstUser ? 'then log' : 'Log'} in and connect:`,
    `  npx tp login --proxy ${proxy?.publicAddr ?? '<proxy>'} --user alice --insecure && npx tp ssh ${node}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
