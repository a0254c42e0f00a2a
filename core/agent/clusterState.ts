import type { ApiClient } from '../api/client.ts';
import type { PublicCa } from '../auth/cas.ts';
import type { ClusterCas } from '../identity/follower.ts';
import { parseBatch, parseSnapshot } from '../state/items.ts';
import type { Replica, StateSource } from '../state/replica.ts';

/** The cluster's settings an agent learns with its snapshot. */
export interface AgentSettings {
  sessionRecording: 'node' | 'off';
}

/**
 * The proxy's copy of cluster state, as an agent reads it with its host certificate: a snapshot from
 * `/webapi/agent/state`, then long polls of `/webapi/agent/changes`. `settings` is updated with each snapshot.
 */
export function proxyStateSource(api: ApiClient, settings: AgentSettings): StateSource {
  return {
    snapshot: async (signal) => {
      const s = await api.call<{ sessionRecording?: 'node' | 'off' }>(
        'GET',
        '/webapi/agent/state',
        undefined,
        {},
        {
          signal,
        },
      );
      settings.sessionRecording = s.sessionRecording ?? 'node';
      return parseSnapshot(s);
    },
    changes: async (after, waitMs, signal) =>
      parseBatch(
        await api.call(
          'GET',
          `/webapi/agent/changes?after=${after}&waitMs=${waitMs}`,
          undefined,
          {},
          {
            signal,
            timeoutMs: waitMs + 15_000,
          },
        ),
      ),
  };
}

/** The CAs (signing key first) and rotation phase a replica holds; undefined until all three CAs are in. */
export function replicaCas(replica: Replica): (ClusterCas & { cluster: string }) | undefined {
  const ca = (t: string) => replica.get<PublicCa>('ca', t);
  const [user, host, tls] = [ca('user'), ca('host'), ca('tls')];
  if (!user || !host || !tls) return undefined;
  const rotation = replica.get<ClusterCas['rotation']>('rotation', 'state') ?? { id: '', phase: 'standby' };
  return { cluster: user.cluster, userCa: user.sshKeys, hostCa: host.sshKeys, tlsCa: tls.tlsCerts, rotation };
}
