import { definePlugin } from '../../core/plugin/define.ts';
import type { PluginLoader } from '../../core/plugin/registry.ts';
import type { ResourceSpec } from '../../core/plugin/types.ts';
import { appPolicy } from '../../core/rbac/index.ts';
import { PLUGINS } from '../../plugins/index.ts';
import { startTestCluster, type TestCluster, waitFor } from './cluster.ts';

/**
 * The build's plugins plus `app-fixture`, a web app plugin whose agent side heartbeats whatever `served()` says (and
 * serves no streams): app records from a real agent without an app behind them.
 */
export function withFixtureApp(served: () => ResourceSpec[]): PluginLoader[] {
  const fixture = definePlugin({
    name: 'app-fixture',
    kind: 'app',
    alpn: ['tp-app-fixture'],
    policy: appPolicy,
    agent: () => ({
      resources: served,
      serve: () => Promise.resolve(),
      close: () => Promise.resolve(),
    }),
  });
  return [...PLUGINS, async () => ({ default: fixture })];
}

/** An app as the fixture heartbeats it. */
export function appSpec(name: string, uri: string, labels: Record<string, string> = {}): ResourceSpec {
  return { name, labels, spec: { uri, public_addr: `${name}.localhost` } };
}

/** The apps the test agent `app-agent` heartbeats: `grafana` (env dev) and `billing` (env prod). */
export const SERVED_APPS = [
  appSpec('grafana', 'http://127.0.0.1:3000', { env: 'dev' }),
  appSpec('billing', 'http://127.0.0.1:3001', { env: 'prod' }),
];

/** A cluster with one agent, `app-agent`, heartbeating SERVED_APPS; returns once the proxy holds them. */
export async function startAppAgentCluster(): Promise<TestCluster> {
  const c = await startTestCluster({ agents: [{ name: 'app-agent' }], plugins: withFixtureApp(() => SERVED_APPS) });
  await waitFor(
    'the app resources to reach the cluster',
    async () => (await c.proxy.view.resources('app')).length === 2,
  );
  return c;
}
