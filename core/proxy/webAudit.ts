import { EVENT_CODES } from '../audit/events.ts';

/** Every audit event type the cluster records, sorted (the web UI suggests them). */
export const EVENT_TYPES: readonly string[] = Object.keys(EVENT_CODES).sort();

/** Most events one web search returns. */
const MAX_LIMIT = 1000;

/**
 * The event types a typed filter means: every type starting with it, ignoring case and spaces ("Session" finds
 * session.start, session.end and session.join); undefined for an empty filter (all types).
 */
export function typesMatching(filter: string): string[] | undefined {
  const f = filter.trim().toLowerCase();
  if (!f) return undefined;
  return EVENT_TYPES.filter((t) => t.startsWith(f));
}

/** One auth audit search, as the session's user: the query string of `/v1/audit/events`. */
export type AuditSearch = (query: URLSearchParams) => Promise<{ time: string; id: string }[]>;

/**
 * The web UI's audit search: type and user each a case-insensitive prefix (user names are lower case), a
 * time range, newest first, at most `limit`. A prefix naming several types asks auth once per type and merges.
 */
export async function webAuditSearch(search: AuditSearch, query: URLSearchParams): Promise<unknown[]> {
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 500) || 500, 1), MAX_LIMIT);
  const base = new URLSearchParams({ limit: String(limit), order: 'newest' });
  for (const k of ['since', 'until'] as const) {
    const v = query.get(k);
    if (v) base.set(k, v);
  }
  const user = (query.get('user') ?? '').trim().toLowerCase();
  if (user) base.set('user_prefix', user);
  const types = typesMatching(query.get('type') ?? '');
  if (types === undefined) return search(base);
  const pages = await Promise.all(
    types.map((t) => {
      const q = new URLSearchParams(base);
      q.set('type', t);
      return search(q);
    }),
  );
  return pages
    .flat()
    .sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id))
    .slice(0, limit);
}
