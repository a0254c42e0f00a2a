import { SQL } from 'bun';
import type { AuditEvent } from './events.ts';
import type { AuditQuery, AuditStore, CursoredEvent, RecordingMeta } from './store.ts';

/** Rows per INSERT: 6 parameters each, well under PostgreSQL's 65,535 per statement. */
const APPEND_CHUNK = 1000;

/** The audit store on PostgreSQL, shared by every auth server of an HA cluster. */
export class PostgresAuditStore implements AuditStore {
  private constructor(private readonly sql: SQL) {}

  /** Connects and creates the tables if needed. */
  static async open(url: string): Promise<PostgresAuditStore> {
    const sql = new SQL(url, { max: 5 });
    // Several auth servers may start at once; CREATE ... IF NOT EXISTS races in PostgreSQL, so take a lock first.
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(7270002)`;
      await tx`CREATE TABLE IF NOT EXISTS tp_audit_events (
        cursor BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, type TEXT NOT NULL,
        "user" TEXT, session_id TEXT, json TEXT NOT NULL)`;
      await tx`CREATE INDEX IF NOT EXISTS tp_audit_time ON tp_audit_events(time)`;
      await tx`CREATE INDEX IF NOT EXISTS tp_audit_type_time ON tp_audit_events(type, time)`;
      await tx`CREATE INDEX IF NOT EXISTS tp_audit_user_time ON tp_audit_events("user", time)`;
      await tx`CREATE INDEX IF NOT EXISTS tp_audit_session ON tp_audit_events(session_id)`;
      await tx`CREATE TABLE IF NOT EXISTS tp_recordings (sid TEXT PRIMARY KEY, started TEXT NOT NULL, json TEXT NOT NULL, body TEXT)`;
    });
    return new PostgresAuditStore(sql);
  }

  async append(events: AuditEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const rows = events.map((e) => ({
      id: e.id,
      time: e.time,
      type: e.type,
      user: e.user ?? null,
      session_id: (e.session_id as string | undefined) ?? null,
      json: JSON.stringify(e),
    }));
    let added = 0;
    // One multi-row INSERT per chunk: a statement per event was a round trip each inside the transaction.
    await this.sql.begin(async (tx) => {
      for (let i = 0; i < rows.length; i += APPEND_CHUNK) {
        const chunk = rows.slice(i, i + APPEND_CHUNK);
        const r = await tx`INSERT INTO tp_audit_events ${tx(chunk, 'id', 'time', 'type', 'user', 'session_id', 'json')}
          ON CONFLICT (id) DO NOTHING`;
        added += r.count;
      }
    });
    return added;
  }

  async search(q: AuditQuery): Promise<AuditEvent[]> {
    const since = q.since !== undefined ? new Date(q.since).toISOString() : '';
    const until = q.until !== undefined ? new Date(q.until).toISOString() : '\uffff';
    const newest = q.order === 'newest';
    const rows = await this.sql`SELECT json FROM tp_audit_events
      WHERE time >= ${since} AND time <= ${until}
        AND (${q.type ?? null}::text IS NULL OR type = ${q.type ?? null})
        AND (${q.user ?? null}::text IS NULL OR "user" = ${q.user ?? null})
        AND (${q.userPrefix ?? null}::text IS NULL OR starts_with("user", ${q.userPrefix ?? null}))
        AND (${q.session ?? null}::text IS NULL OR session_id = ${q.session ?? null})
      ORDER BY CASE WHEN ${newest} THEN time END DESC, CASE WHEN ${newest} THEN cursor END DESC, time, cursor
      LIMIT ${q.limit ?? 1000}`;
    return (rows as { json: string }[]).map((r) => JSON.parse(r.json) as AuditEvent);
  }

  async exportAfter(cursor: number, limit: number): Promise<CursoredEvent[]> {
    const rows = await this
      .sql`SELECT cursor, json FROM tp_audit_events WHERE cursor > ${cursor} ORDER BY cursor LIMIT ${limit}`;
    return (rows as { cursor: string; json: string }[]).map((r) => ({
      ...(JSON.parse(r.json) as AuditEvent),
      cursor: Number(r.cursor),
    }));
  }

  async putRecording(meta: RecordingMeta): Promise<void> {
    await this
      .sql`INSERT INTO tp_recordings (sid, started, json) VALUES (${meta.sessionId}, ${meta.startedAt}, ${JSON.stringify(meta)})
      ON CONFLICT (sid) DO UPDATE SET json = EXCLUDED.json`;
  }

  async getRecording(sessionId: string): Promise<RecordingMeta | undefined> {
    const [r] = await this.sql`SELECT json FROM tp_recordings WHERE sid = ${sessionId}`;
    return r ? (JSON.parse(r.json) as RecordingMeta) : undefined;
  }

  async listRecordings(limit: number, user?: string): Promise<RecordingMeta[]> {
    const rows = await this.sql`SELECT json FROM tp_recordings
      WHERE (${user ?? null}::text IS NULL OR (json::jsonb)->>'user' = ${user ?? null})
      ORDER BY started DESC LIMIT ${limit}`;
    return (rows as { json: string }[]).map((r) => JSON.parse(r.json) as RecordingMeta);
  }

  async putRecordingText(sessionId: string, text: string): Promise<void> {
    await this.sql`UPDATE tp_recordings SET body = ${text} WHERE sid = ${sessionId}`;
  }

  async searchRecordings(text: string, limit: number, user?: string): Promise<RecordingMeta[]> {
    const rows = await this
      .sql`SELECT json FROM tp_recordings WHERE position(lower(${text}) in lower(coalesce(body, ''))) > 0
        AND (${user ?? null}::text IS NULL OR (json::jsonb)->>'user' = ${user ?? null})
      ORDER BY started DESC LIMIT ${limit}`;
    return (rows as { json: string }[]).map((r) => JSON.parse(r.json) as RecordingMeta);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
