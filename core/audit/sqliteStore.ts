import { Database } from 'bun:sqlite';
import { parentDirFor, privateFiles, sqliteFiles } from '../config/privateDir.ts';
import type { AuditEvent } from './events.ts';
import { type AuditRow, AuditWriter } from './sqliteWriter.ts';
import type { AuditQuery, AuditStore, CursoredEvent, RecordingMeta } from './store.ts';

/**
 * The audit store on SQLite (WAL, synchronous=FULL), beside the backend file; text search uses an FTS5 trigram index.
 * Events are appended by a writer thread of their own (sqliteWriter.ts) for a file, in-process for `:memory:`.
 */
export class SqliteAuditStore implements AuditStore {
  private readonly db: Database;
  private readonly writer: AuditWriter | undefined;

  constructor(path: string) {
    if (path !== ':memory:') parentDirFor(path);
    this.db = new Database(path, { create: true, strict: true });
    this.db.exec('PRAGMA journal_mode = WAL');
    // SQLite gives -wal and -shm the database file's mode: private from the start, or tightened if older.
    if (path !== ':memory:') privateFiles(sqliteFiles(path));
    this.db.exec('PRAGMA synchronous = FULL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS audit_events (
      cursor INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, type TEXT NOT NULL,
      user TEXT, session_id TEXT, json TEXT NOT NULL)`);
    this.db.exec('CREATE INDEX IF NOT EXISTS audit_time ON audit_events(time)');
    this.db.exec('CREATE INDEX IF NOT EXISTS audit_type_time ON audit_events(type, time)');
    this.db.exec('CREATE INDEX IF NOT EXISTS audit_user_time ON audit_events(user, time)');
    // By session in time order: a session's first events (auth reads its start on every batch a node reports) come
    // off the index; on session_id alone SQLite sorted all of a session's events per search (18 ms at 30,000).
    this.db.exec('CREATE INDEX IF NOT EXISTS audit_session_time ON audit_events(session_id, time)');
    this.db.exec('DROP INDEX IF EXISTS audit_session');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS recordings (sid TEXT PRIMARY KEY, started TEXT NOT NULL, json TEXT NOT NULL)',
    );
    this.db.exec(
      "CREATE VIRTUAL TABLE IF NOT EXISTS recording_text USING fts5(sid UNINDEXED, body, tokenize='trigram')",
    );
    if (path !== ':memory:') this.writer = new AuditWriter(path);
  }

  async append(events: AuditEvent[]): Promise<number> {
    const rows = events.map(
      (e): AuditRow => [
        e.id,
        e.time,
        e.type,
        e.user ?? null,
        (e.session_id as string | undefined) ?? null,
        JSON.stringify(e),
      ],
    );
    if (this.writer) return this.writer.append(rows);
    const insert = this.db.query(
      'INSERT OR IGNORE INTO audit_events (id, time, type, user, session_id, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      let added = 0;
      for (const r of rows) added += insert.run(...r).changes;
      return added;
    })();
  }

  async search(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.since !== undefined) {
      where.push('time >= ?');
      args.push(new Date(q.since).toISOString());
    }
    if (q.until !== undefined) {
      where.push('time <= ?');
      args.push(new Date(q.until).toISOString());
    }
    if (q.type) {
      where.push('type = ?');
      args.push(q.type);
    }
    if (q.user) {
      where.push('user = ?');
      args.push(q.user);
    }
    if (q.userPrefix) {
      where.push('substr(user, 1, length(?)) = ?');
      args.push(q.userPrefix, q.userPrefix);
    }
    if (q.session) {
      where.push('session_id = ?');
      args.push(q.session);
    }
    const sql = `SELECT json FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${q.order === 'newest' ? 'time DESC, cursor DESC' : 'time, cursor'} LIMIT ?`;
    args.push(q.limit ?? 1000);
    return (this.db.query(sql).all(...args) as { json: string }[]).map((r) => JSON.parse(r.json) as AuditEvent);
  }

  async exportAfter(cursor: number, limit: number): Promise<CursoredEvent[]> {
    const rows = this.db
      .query('SELECT cursor, json FROM audit_events WHERE cursor > ? ORDER BY cursor LIMIT ?')
      .all(cursor, limit) as {
      cursor: number;
      json: string;
    }[];
    return rows.map((r) => ({ ...(JSON.parse(r.json) as AuditEvent), cursor: r.cursor }));
  }

  async putRecording(meta: RecordingMeta): Promise<void> {
    this.db
      .query(
        'INSERT INTO recordings (sid, started, json) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET json = excluded.json',
      )
      .run(meta.sessionId, meta.startedAt, JSON.stringify(meta));
  }

  async getRecording(sessionId: string): Promise<RecordingMeta | undefined> {
    const r = this.db.query('SELECT json FROM recordings WHERE sid = ?').get(sessionId) as { json: string } | null;
    return r ? (JSON.parse(r.json) as RecordingMeta) : undefined;
  }

  async listRecordings(limit: number, user?: string): Promise<RecordingMeta[]> {
    const rows = this.db
      .query(
        `SELECT json FROM recordings WHERE (?1 IS NULL OR json_extract(json, '$.user') = ?1)
         ORDER BY started DESC LIMIT ?2`,
      )
      .all(user ?? null, limit) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as RecordingMeta);
  }

  async putRecordingText(sessionId: string, text: string): Promise<void> {
    this.db.transaction(() => {
      this.db.query('DELETE FROM recording_text WHERE sid = ?').run(sessionId);
      this.db.query('INSERT INTO recording_text (sid, body) VALUES (?, ?)').run(sessionId, text);
    })();
  }

  async searchRecordings(text: string, limit: number, user?: string): Promise<RecordingMeta[]> {
    // The trigram index serves LIKE '%text%' (case-insensitive for ASCII) for queries of 3+ characters.
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = this.db
      .query(
        `SELECT r.json FROM recording_text t JOIN recordings r ON r.sid = t.sid
         WHERE t.body LIKE ?1 ESCAPE '\\' AND (?3 IS NULL OR json_extract(r.json, '$.user') = ?3)
         ORDER BY r.started DESC LIMIT ?2`,
      )
      .all(pattern, limit, user ?? null) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as RecordingMeta);
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
