import { hostname } from 'node:os';
import type { Agent } from '../agent/agent.ts';
import { migrateLegacyEventSpool, migrateLegacySpool } from '../agent/spoolMigration.ts';
import type { AuthServer } from '../auth/server.ts';
import type { Clock } from '../clock.ts';
import type { DataLayout } from '../config/layout.ts';
import type { Config } from '../config/schema.ts';
import { BadParameter } from '../errors.ts';
import { pluginEntries } from '../plugin/entries.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import type { ProxyServer } from '../proxy/server.ts';
import { SSH_SERVICE } from '../ssh/service.ts';
import { lockDataDir } from './dataDirLock.ts';
import { keptLocalIdentity } from './keptIdentity.ts';
import { type ComposeOptions, commandLabels } from './options.ts';

/**
 * The plugins this host's agent runs, with their entries: with `ssh.enabled`, SSH and every plugin that runs; without
 * it, only the plugins whose tp.yaml section or flag gives them resources. Empty: no agent runs here.
 */
export function agentEntries(
  cfg: Config,
  plugins: PluginRegistry,
  flags?: Record<string, string[]>,
): Map<string, unknown[]> {
  const entries = pluginEntries(plugins, cfg.sections, flags);
  if (cfg.ssh.enabled) return entries;
  // Without SSH, the agent runs for configured resources only: no SSH, and no plugin that has no entries.
  for (const [name, list] of entries) if (name === SSH_SERVICE || list.length === 0) entries.delete(name);
  return entries;
}

/**
 * Starts the SSH node of a composition. With auth in this process it is the all-in-one node: identity issued there
 * under the host ID and keys kept in the data dir, tunnel to the local proxy. Otherwise it joins through `o.join.proxy` with
 * a token (first start) or its saved identity. Spool files an older layout left are moved first.
 */
export async function startNode(
  cfg: Config,
  layout: DataLayout,
  o: ComposeOptions & { newId: () => string },
  auth: AuthServer | undefined,
  proxy: ProxyServer | undefined,
  plugins: PluginRegistry,
  entries: Map<string, unknown[]>,
  clock: Clock,
  stops: (() => unknown)[],
): Promise<Agent> {
  const proxyAddr = proxy?.addr ?? o.join?.proxy ?? cfg.ssh.proxy;
  if (!proxyAddr) throw new BadParameter('the ssh service needs a proxy: give --proxy, or enable the proxy in tp.yaml');
  stops.push(lockDataDir(layout.dataDir, 'agent', clock).release);
  for (const legacy of layout.legacySpools) migrateLegacySpool(legacy, layout.recordingSpool);
  migrateLegacyEventSpool(layout.dataDir, layout.agentDir);
  const name = cfg.ssh.name ?? hostname();
  const identity =
    auth && !o.agent?.identity
      ? await keptLocalIdentity(auth.service, layout.agentDir, 'node', name, [], o.newId)
      : undefined;
  const { startAgent } = await import('../agent/agent.ts');
  const agent = await startAgent({
    dataDir: layout.agentDir,
    recordingSpoolDir: layout.recordingSpool,
    proxy: proxyAddr,
    token: o.join?.token ?? cfg.ssh.token,
    caPin: o.join?.caPin ?? cfg.ssh.ca_pin,
    name,
    labels: cfg.ssh.labels,
    commandLabels: commandLabels(cfg),
    direct: cfg.ssh.listen ? { listen: cfg.ssh.listen, advertise: o.advertise } : undefined,
    identity,
    version: o.version,
    clock,
    plugins,
    pluginEntries: entries,
    // Only where the agent is the whole process: pages shared with a busy proxy or auth would come straight back.
    reclaimIdle: !auth && !proxy && cfg.ssh.reclaim_idle !== false,
    ...o.agent,
  });
  stops.push(() => agent.close());
  return agent;
}
