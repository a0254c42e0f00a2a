import { hostname } from 'node:os';
import { defineCommand } from 'citty';
import { ApiClient } from '../core/api/client.ts';
import { parseDuration } from '../core/clock.ts';
import {
  DEFAULT_AUTH_LISTEN,
  DEFAULT_PROXY_LISTEN,
  DEFAULT_PROXY_SSH_LISTEN,
  defaultClusterName,
  defaultDataDir,
  userDataDir,
} from '../core/config/defaults.ts';
import pkg from '../package.json' with { type: 'json' };
import { action } from './lib/context.ts';
import { commandLabels, configFrom, prepareLayout, proxyLimits, serveUntilSignal } from './lib/daemon.ts';

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
    const layout = await prepareLayout(cfg, dataDir);
    const stops: (() => Promise<void>)[] = [];
    const lines: string[] = [];
    if (!cfg.auth.enabled)
      throw new Error('tp start runs the auth service; use `tp proxy start` / `tp agent start` for the others');
    const { startAuthServer } = await import('../core/auth/server.ts');
    const { localHostIdentity } = await import('../core/auth/localIdentity.ts');
    const auth = await startAuthServer({
      clusterName: cfg.cluster_name ?? defaultClusterName(),
      dataDir,
      storage: cfg.storage,
      listen: cfg.auth.listen ?? DEFAULT_AUTH_LISTEN,
      secondFactor: cfg.auth.second_factor,
      sessionRecording: cfg.auth.session_recording,
      recordings: cfg.auth.recordings,
      publicUrl: cfg.auth.public_url ?? (cfg.proxy.public_addr ? `https://${cfg.proxy.public_addr}` : undefined),
      metricsListen: cfg.auth.metrics_listen,
    });
    stops.push(() => auth.close());
    lines.push(
      `tp cluster "${auth.service.cluster}" is up.`,
      `  auth API:  ${auth.addr} (mTLS)`,
      `  data dir:  ${dataDir}`,
    );
    let proxyAddr: string | undefined;
    if (cfg.proxy.enabled) {
      const { startProxy } = await import('../core/proxy/server.ts');
      const names = [
        'localhost',
        '127.0.0.1',
        hostname(),
        ...(cfg.proxy.public_addr ? [cfg.proxy.public_addr.split(':')[0]!] : []),
      ];
      const identity = await localHostIdentity(auth.service, 'proxy', hostname(), names);
      const client = new ApiClient([auth.addr], {
        ca: identity.tlsCa,
        cert: identity.tlsCert,
        key: identity.tlsKey,
      });
      const proxy = await startProxy({
        listen: cfg.proxy.listen ?? DEFAULT_PROXY_LISTEN,
        sshListen: cfg.proxy.ssh_listen ?? DEFAULT_PROXY_SSH_LISTEN,
        publicAddr: cfg.proxy.public_addr,
        identity,
        auth: client,
        version: pkg.version,
        webSessionTtlMs: parseDuration(cfg.proxy.web_session_ttl),
        metricsListen: cfg.proxy.metrics_listen,
        limits: proxyLimits(cfg),
      });
      stops.push(() => proxy.close());
      proxyAddr = proxy.publicAddr;
      lines.push(
        `  proxy:     https://${proxy.publicAddr} (web UI and API, SSH relay, tunnels)`,
        `  web UI:    https://${proxy.publicAddr}/web`,
        `  ssh jump:  ${proxy.sshAddr} (ssh -J)`,
      );
    }
    if (cfg.ssh.enabled && proxyAddr) {
      const { startAgent } = await import('../core/agent/agent.ts');
      const name = cfg.ssh.name ?? hostname();
      const identity = await localHostIdentity(auth.service, 'node', name);
      const agent = await startAgent({
        dataDir,
        recordingSpoolDir: layout.recordingSpool,
        proxy: proxyAddr,
        name,
        labels: cfg.ssh.labels,
        commandLabels: commandLabels(cfg),
        direct: cfg.ssh.listen ? { listen: cfg.ssh.listen } : undefined,
        identity,
        version: pkg.version,
      });
      stops.push(() => agent.close());
      lines.push(`  ssh node:  ${name} (${agent.hostId})`);
    }
    lines.push(
      'Add the first user (on this host):',
      `  echo "a-long-password" | npx tp users add alice --roles admin --logins $(whoami) --password-stdin --data-dir ${dataDir}`,
      'then log in and connect:',
      `  npx tp login --proxy ${proxyAddr ?? '<proxy>'} --user alice --insecure && npx tp ssh ${cfg.ssh.name ?? hostname()}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    await serveUntilSignal(async () => {
      for (const stop of stops.reverse()) await stop();
    });
  }),
});
