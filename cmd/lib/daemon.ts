import type { CommandLabel } from '../../core/agent/agent.ts';
import { parseDuration } from '../../core/clock.ts';
import { defaultConfig } from '../../core/config/defaults.ts';
import { checkLayout, type DataLayout, dataLayout } from '../../core/config/layout.ts';
import { privateUmask } from '../../core/config/privateDir.ts';
import type { Config } from '../../core/config/schema.ts';
import { log } from '../../core/log.ts';
import type { ConnectionLimits } from '../../core/net/connectionLimits.ts';

/**
 * Loads --config when given, else the all-in-one defaults (YAML and schema code load only when a file is read).
 * Every server command starts here, so from here on the process creates its files private (umask 077).
 */
export async function configFrom(path: string | undefined): Promise<Config> {
  privateUmask();
  if (!path) return defaultConfig();
  const { loadConfig } = await import('../../core/config/load.ts');
  return loadConfig(path);
}

/** Keeps a server process alive until SIGINT/SIGTERM, then runs `stop` once and exits 0. */
export async function serveUntilSignal(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info('shutting down', { signal: sig });
      resolve();
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
  await stop();
  process.exit(0);
}

/** The command labels of a config's ssh section, in the agent's form. */
export function commandLabels(cfg: Config): CommandLabel[] {
  return cfg.ssh.commands.map((c) => ({ name: c.name, command: c.command, periodMs: parseDuration(c.period) }));
}

/** The proxy's connection deadlines and limits from tp.yaml; what it leaves out keeps the proxy's defaults. */
export function proxyLimits(cfg: Config): Partial<ConnectionLimits> {
  const p = cfg.proxy;
  return {
    ...(p.handshake_timeout ? { handshakeMs: parseDuration(p.handshake_timeout) } : {}),
    ...(p.request_timeout ? { requestMs: parseDuration(p.request_timeout) } : {}),
    ...(p.idle_timeout ? { idleMs: parseDuration(p.idle_timeout) } : {}),
    ...(p.max_unauthenticated_per_ip ? { unauthenticatedPerIp: p.max_unauthenticated_per_ip } : {}),
  };
}

/** The data dir's layout for this config, refused when the spool and the store overlap; an old spool is moved. */
export async function prepareLayout(cfg: Config, dataDir: string): Promise<DataLayout> {
  const layout = dataLayout(dataDir, cfg.auth.recordings);
  checkLayout(layout);
  const { migrateLegacySpool } = await import('../../core/agent/spoolMigration.ts');
  for (const legacy of layout.legacySpools) migrateLegacySpool(legacy, layout.recordingSpool);
  return layout;
}
