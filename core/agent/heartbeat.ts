import type { ApiClient } from '../api/client.ts';
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
}

/** Returns a function that sends one heartbeat to the proxy; a failed beat is logged, never thrown. */
export function heartbeatSender(api: ApiClient, o: HeartbeatOptions): () => Promise<void> {
  return async () => {
    try {
      await api.post('/webapi/agent/heartbeat', {
        name: o.name,
        addr: o.addr(),
        labels: o.labels,
        version: o.version,
        ttlMs: o.periodMs * 3,
      });
    } catch (err) {
      log.warn('heartbeat failed', { error: describe(err) });
    }
  };
}
