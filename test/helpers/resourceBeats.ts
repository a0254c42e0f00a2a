import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HeartbeatResource, heartbeatSender } from '../../core/agent/heartbeat.ts';
import { ApiClient } from '../../core/api/client.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import type { TestCluster } from './cluster.ts';

/** An API client holding a test agent's own host identity (what its heartbeats are sent with). */
export function agentApi(cluster: TestCluster, agent: string): ApiClient {
  const id = requireHostIdentity(cluster.agentDirs.get(agent)!);
  return new ApiClient([cluster.proxy.addr], { ca: id.tlsCa, cert: id.tlsCert, key: id.tlsKey });
}

/**
 * Heartbeats as agent `agent` announcing `resources()` (the agent's own sender, given the resources option the
 * plugin host wires in), until plugins heartbeat from a real agent.
 */
export function resourceBeat(cluster: TestCluster, agent: string, resources: () => HeartbeatResource[]) {
  return heartbeatSender(agentApi(cluster, agent), {
    name: agent,
    labels: {},
    addr: () => undefined,
    periodMs: 500,
    resources,
  });
}

/** An API client holding a logged-in user's certificate from their `tp login` profile under `home`. */
export function userApi(cluster: TestCluster, home: string): ApiClient {
  const dir = profileKeysDir(cluster.proxy.addr, home);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return new ApiClient([cluster.proxy.addr], { ca: read('cas.pem'), cert: read('tls.crt'), key: read('tls.key') });
}

/** A database record as a plugin heartbeats it. */
export function dbResource(name: string, labels: Record<string, string> = {}): HeartbeatResource {
  return { kind: 'db', plugin: 'db-postgres', name, labels, spec: { protocol: 'postgres', uri: '127.0.0.1:5432' } };
}
