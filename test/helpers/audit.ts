import { AuthClient } from '../../core/api/authClient.ts';
import type { ApiClient } from '../../core/api/client.ts';
import type { WireAuditEvent } from '../../core/api/schemas.ts';

/** An admin client of the auth API (the test cluster's `auth.admin`). */
export type AuditReader = ApiClient;

/** What a test asks of one event: its fields as stored. */
export type EventMatch = (e: WireAuditEvent) => boolean;

/** The newest `limit` events of `type` (oldest first), optionally for one user. */
export async function auditOf(
  admin: AuditReader,
  type: string,
  o: { user?: string; limit?: number } = {},
): Promise<WireAuditEvent[]> {
  const q = new URLSearchParams({ type, limit: String(o.limit ?? 1000), order: 'newest' });
  if (o.user) q.set('user', o.user);
  const newest = await new AuthClient(admin).searchEvents(q);
  return newest.reverse();
}

/**
 * Waits until the audit log holds an event of `type` that `match` accepts and returns the newest such event; polls
 * every 50 ms and fails after `ms`, naming the type and the last events of it seen.
 */
export async function eventually(
  admin: AuditReader,
  type: string,
  match: EventMatch = () => true,
  ms = 10_000,
): Promise<WireAuditEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const events = await auditOf(admin, type);
    const hit = events.findLast(match);
    if (hit) return hit;
    if (Date.now() > deadline) {
      const seen = JSON.stringify(events.slice(-3));
      throw new Error(`timed out after ${ms} ms waiting for a matching ${type} audit event (last seen: ${seen})`);
    }
    await Bun.sleep(50);
  }
}
