import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { type AuditEvent, type AuditInput, codeOf, type EventType } from './events.ts';

const PREFIX = '/audit/events/';

/** Filters for `search`; times are epoch ms. */
export interface AuditQuery {
  since?: number;
  until?: number;
  type?: EventType | string;
  user?: string;
  limit?: number;
}

/** The cluster's durable audit log, kept in the backend under time-ordered keys. */
export class AuditLog {
  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
    private readonly cluster: string,
  ) {}

  /** Stores an event durably and returns it as stored. */
  async emit(input: AuditInput): Promise<AuditEvent> {
    const now = this.clock.now();
    const time = new Date(now).toISOString();
    const id = `${time}-${randomBytes(6).toString('hex')}`;
    const success = input.success ?? true;
    const event: AuditEvent = { ...input, id, code: codeOf(input.type, success), time, cluster: this.cluster, success };
    await this.backend.put({ key: PREFIX + id, value: JSON.stringify(event) });
    return event;
  }

  /** Events matching the query, oldest first, at most `limit` (default 1000). */
  async search(q: AuditQuery = {}): Promise<AuditEvent[]> {
    const limit = q.limit ?? 1000;
    const out: AuditEvent[] = [];
    let startAfter = q.since !== undefined ? PREFIX + new Date(q.since).toISOString() : undefined;
    const until = q.until !== undefined ? new Date(q.until).toISOString() : undefined;
    while (out.length < limit) {
      const page = await this.backend.range(PREFIX, { limit: 500, startAfter });
      for (const item of page) {
        const e = JSON.parse(item.value) as AuditEvent;
        if (until && e.time > until) return out;
        if ((q.type && e.type !== q.type) || (q.user && e.user !== q.user)) continue;
        out.push(e);
        if (out.length >= limit) break;
      }
      if (page.length < 500) break;
      startAfter = page.at(-1)!.key;
    }
    return out;
  }
}
