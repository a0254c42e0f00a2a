import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../core/api/client.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { definePlugin } from '../../core/plugin/define.ts';
import type { PluginLoader } from '../../core/plugin/registry.ts';
import type { ResourceSpec } from '../../core/plugin/types.ts';
import { dbPolicy } from '../../core/rbac/index.ts';
import { PLUGINS } from '../../plugins/index.ts';
import type { TestCluster } from './cluster.ts';

/**
 * The build's plugins plus `db-fixture`, a database plugin whose agent side heartbeats whatever `served()` says
 * (and serves no streams): resource records from a real agent without a database behind them.
 */
export function withFixtureDb(served: () => ResourceSpec[]): PluginLoader[] {
  const fixture = definePlugin({
    name: 'db-fixture',
    kind: 'db',
    alpn: ['tp-db-fixture'],
    policy: dbPolicy,
    agent: () => ({
      resources: served,
      // No database behind it: a stream is ended at once (the core closes it when this settles).
      serve: () => Promise.resolve(),
      close: () => Promise.resolve(),
    }),
  });
  return [...PLUGINS, async () => ({ default: fixture })];
}

/** A database as the fixture plugin heartbeats it. */
export function dbSpec(name: string, labels: Record<string, string> = {}): ResourceSpec {
  return { name, labels, spec: { protocol: 'postgres', uri: '127.0.0.1:5432' } };
}

/** An API client holding a test agent's own host identity (what its heartbeats are sent with). */
export function agentApi(cluster: TestCluster, agent: string): ApiClient {
  const id = requireHostIdentity(cluster.agentDirs.get(agent)!);
  return new ApiClient([cluster.proxy.addr], { ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey });
}

/** An API client holding a logged-in user's certificate from their `tp login` profile under `home`. */
export function userApi(cluster: TestCluster, home: string): ApiClient {
  const dir = profileKeysDir(cluster.proxy.addr, home);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return new ApiClient([cluster.proxy.addr], { ca: read('cas.pem'), cert: read('tls.crt'), key: read('tls.key') });
}
