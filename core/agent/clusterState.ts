import type { ApiClient } from '../api/client.ts';
import { AgentStateSchema } from '../api/hostSchemas.ts';
import { parseBatch, parseSnapshot } from '../state/items.ts';
import type { StateSource } from '../state/replica.ts';

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
      const s = await api.send(AgentStateSchema, 'GET', '/webapi/agent/state', undefined, {}, { signal });
      settings.sessionRecording = s.sessionRecording ?? 'node';
      return parseSnapshot(s);
    },
    changes: (after, waitMs, signal) =>
      api.send(
        parseBatch,
        'GET',
        `/webapi/agent/changes?after=${after}&waitMs=${waitMs}`,
        undefined,
        {},
        {
          signal,
          timeoutMs: waitMs + 15_000,
        },
      ),
  };
}
