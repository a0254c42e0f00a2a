import { defineCommand } from 'citty';
import { DEFAULT_AUTH_LISTEN, defaultClusterName, defaultDataDir } from '../core/config/defaults.ts';
import { action } from './lib/context.ts';
import { configFrom, serveUntilSignal } from './lib/daemon.ts';

export default defineCommand({
  meta: {
    name: 'start',
    description:
      'Run the services enabled in tp.yaml (all-in-one by default) on the embedded SQLite store unless storage says otherwise',
  },
  args: {
    config: { type: 'string', description: 'Path to tp.yaml' },
    'data-dir': { type: 'string', description: 'Data dir (default: data_dir from tp.yaml, TP_DATA_DIR, /var/lib/tp)' },
  },
  run: action(async (args) => {
    const cfg = configFrom(args.config);
    const dataDir = args['data-dir'] ?? cfg.data_dir ?? defaultDataDir();
    const stops: (() => Promise<void>)[] = [];
    if (cfg.auth.enabled) {
      const { startAuthServer } = await import('../core/auth/server.ts');
      const auth = await startAuthServer({
        clusterName: cfg.cluster_name ?? defaultClusterName(),
        dataDir,
        storage: cfg.storage,
        listen: cfg.auth.listen ?? DEFAULT_AUTH_LISTEN,
        secondFactor: cfg.auth.second_factor,
        publicUrl: cfg.auth.public_url,
      });
      stops.push(() => auth.close());
      process.stdout.write(
        `tp cluster "${auth.service.cluster}" is up.\n` +
          `  auth API: ${auth.addr} (mTLS)\n` +
          `  data dir: ${dataDir}\n` +
          `Add the first user:\n` +
          `  npx tp users add alice --roles admin --logins $(whoami) --data-dir ${dataDir}\n`,
      );
    }
    await serveUntilSignal(async () => {
      for (const stop of stops.reverse()) await stop();
    });
  }),
});
