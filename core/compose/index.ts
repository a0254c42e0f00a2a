import { randomUUID } from 'node:crypto';
import type { AuthServer } from '../auth/server.ts';
import { systemClock } from '../clock.ts';
import { checkLayout, dataLayout } from '../config/layout.ts';
import type { Config } from '../config/schema.ts';
import { loadRegistry } from '../plugin/registry.ts';
import { lockDataDir } from './dataDirLock.ts';
import { agentEntries, startNode } from './node.ts';
import { authOptions, type ComposedCluster, type ComposeOptions } from './options.ts';
import { startProxyService } from './proxy.ts';

export type { ComposedCluster, ComposeOptions } from './options.ts';
export { commandLabels } from './options.ts';

/**
 * Builds the cluster tp.yaml describes, in one process: auth, then the proxy (with an identity from that auth, or
 * joined to a remote one), then the agent with its plugins (likewise; SSH first). Each service locks its part of the data dir first; the
 * recording spool and store are checked apart before anything starts. On any failure what started is stopped.
 * `tp start`, `tp ca|proxy|agent start`, the test cluster and the bench all build clusters here.
 */
export async function composeCluster(cfg: Config, given: ComposeOptions): Promise<ComposedCluster> {
  const o = { ...given, newId: given.newId ?? randomUUID };
  const clock = o.clock ?? systemClock;
  const layout = dataLayout(o.dataDir, cfg.auth.recordings);
  checkLayout(layout);
  const stops: (() => unknown)[] = [];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    let auth = o.localAuth;
    let ownAuth: AuthServer | undefined;
    if (cfg.auth.enabled) {
      stops.push(lockDataDir(layout.dataDir, 'auth', clock).release);
      const { startAuthServer } = await import('../auth/server.ts');
      ownAuth = await startAuthServer(authOptions(cfg, layout, o));
      auth = ownAuth;
      stops.push(() => ownAuth?.close());
    }
    const plugins = await loadRegistry(o.plugins);
    const proxy = cfg.proxy.enabled ? await startProxyService(cfg, layout, o, auth, plugins, clock, stops) : undefined;
    // An agent runs for SSH, or for plugins' resources alone (a database host with `ssh: {enabled: false}`).
    const entries = agentEntries(cfg, plugins, o.pluginFlags);
    const agent =
      entries.size > 0 ? await startNode(cfg, layout, o, auth, proxy, plugins, entries, clock, stops) : undefined;
    return { layout, plugins, auth: ownAuth, proxy, agent, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
