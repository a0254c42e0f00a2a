import type { ApiClient } from '../api/client.ts';
import { AckSchema } from '../api/schemas.ts';
import { describe } from '../errors.ts';
import { log } from '../log.ts';

/** What a heartbeat announces about this node; `addr` is read at each beat (set once the direct listener is up). */
export interface HeartbeatOptions {
  name: string;
  labels: Record<string, string>;
  addr: () => string | undefined;
  version?: string;
  /** The beat period; the announced record lives three periods. */
  periodMs: number;
  /**
   * The plugins' resources to announce with the node, read at each beat. When set, every beat carries the whole
   * list (an empty one too): auth replaces the agent's set with it, so a resource no longer served leaves at once.
   */
  resources?: () => HeartbeatResource[];
}

/** One resource a plugin serves, as the heartbeat carries it (auth adds the host ID, last-seen time and expiry). */
export interface HeartbeatResource {
  /** The plugin's resource kind (`db`): auth cannot load plugins, so the agent names it. */
  kind: string;
  plugin: string;
  name: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

/** Returns a function that sends one heartbeat to the proxy; a failed beat is logged, never thrown. */
export function heartbeatSender(api: ApiClient, o: HeartbeatOptions): () => Promise<void> {
  return async () => {
    try {
      const resources = o.resources?.();
      await api.send(AckSchema, 'POST', '/webapi/agent/heartbeat', {
        name: o.name,
        addr: o.addr(),
        labels: o.labels,
        version: o.version,
        ttlMs: o.periodMs * 3,
        ...(resources ? { resources } : {}),
      });
    } catch (err) {
      log.warn('heartbeat failed', { error: describe(err) });
    }
  };
}
