import * as v from 'valibot';
import type { ApiClient } from '../api/client.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, describe, Unauthenticated } from '../errors.ts';
import { log } from '../log.ts';
import type { LinkHealth } from './linkHealth.ts';

/**
 * The default heartbeat period: under the proxy's 30 s keep-alive idle timeout (core/net/connectionLimits.ts), so
 * the connection a beat goes on (the other one holds the state long poll) is still open for the next beat. At 30 s
 * the proxy closed it first and a beat dialed again: a TLS handshake after the idle reclaim faulted ~2 MiB of the
 * runtime's code back in for good (footprint bench, 3 min: 28.2 -> 25.5 MiB of code pages).
 */
export const HEARTBEAT_MS = 25_000;

/** The proxy's answer to a heartbeat: the cluster's time, from which the agent learns how far off its clock is. */
const HeartbeatAnswerSchema = v.object({ ok: v.optional(v.boolean()), time: v.optional(v.number()) });

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
  /** The link's health: reported with each beat, and told the cluster's time and a refused identity. */
  link?: LinkHealth;
  clock?: Clock;
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
      const sentAt = o.clock?.now() ?? Date.now();
      const r = await api.send(HeartbeatAnswerSchema, 'POST', '/webapi/agent/heartbeat', {
        name: o.name,
        addr: o.addr(),
        labels: o.labels,
        version: o.version,
        ttlMs: o.periodMs * 3,
        ...(o.link ? { link: o.link.report() } : {}),
        ...(resources ? { resources } : {}),
      });
      if (resources) emptyAtAuth = resources.length === 0;
      if (r.time !== undefined) o.link?.clusterTime(r.time, sentAt, o.clock?.now() ?? Date.now());
    } catch (err) {
      log.warn('heartbeat failed', { error: describe(err) });
      if (err instanceof Unauthenticated || err instanceof AccessDenied) o.link?.down('identity_rejected');
    }
  };
}
