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
   * The plugins' resources to announce with the node, read at each beat. A beat carries the whole list and auth
   * replaces the agent's set with it, so a resource no longer served leaves at once; an empty list is sent on the
   * first beat (withdrawing what an earlier run announced) and when the list empties, then left out while it stays
   * empty (an SSH-only agent costs auth no second write per beat).
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
  // Whether auth holds an empty set for us (the last beat that carried resources carried none and was answered).
  let emptyAtAuth = false;
  return async () => {
    try {
      const listed = o.resources?.();
      const resources = listed && !(listed.length === 0 && emptyAtAuth) ? listed : undefined;
      await api.send(AckSchema, 'POST', '/webapi/agent/heartbeat', {
        name: o.name,
        addr: o.addr(),
        labels: o.labels,
        version: o.version,
        ttlMs: o.periodMs * 3,
        ...(resources ? { resources } : {}),
      });
      if (resources) emptyAtAuth = resources.length === 0;
    } catch (err) {
      log.warn('heartbeat failed', { error: describe(err) });
    }
  };
}
