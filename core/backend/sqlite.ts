import { Database, type Statement } from 'bun:sqlite';
import { type Clock, systemClock } from '../clock.ts';
import { parentDirFor, privateFiles, sqliteFiles } from '../config/privateDir.ts';
import { AlreadyExists, CompareFailed, NotFound } from '../errors.ts';
import type { Backend, Expectation, Item, ItemInput, RangeOptions, WatchEvent, WatchOptions } from './types.ts';
import { prefixEnd } from './types.ts';
import { type EventRow, toEvent, WatchHub } from './watcher.ts';

export interface SqliteOptions {
  /** Database file; `:memory:` for tests that need no persistence. */
  path: string;
  clock?: Clock;
  /** How often expired items are swept (ms); 0 disables the timer. Default 1000. */
  sweepMs?: number;
  /** Events kept for resumable watches. Default 100000. */
  keepEvents?: number;
  /** How often watchers poll for writes by other processes (ms). Default 500. */
  pollMs?: number;
}

interface Row {
  key: string;
  value: string;
  revision: number;
  expires: number | null;
}

const toItem = (r: Row): Item =>
  r.expires === null ? { key: r.key, value: r.value, revision: r.revision } : { ...r, expires: r.expires };

/**
 * The default engine: one SQLite file in WAL mode with synchronous=FULL, so every acknowledged write survives a
 * process crash and a power loss. Every write runs in one transaction that bumps the revision and appends to the
 * event log that watches read.
 */
export class SqliteBackend implements Backend {
  readonly name = 'sqlite';
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly hub: WatchHub;
  private readonly sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly keepEvents: number;
  private readonly q: Record<string, Statement>;

  constructor(opts: SqliteOptions) {
    if (opts.path !== ':memory:') parentDirFor(opts.path);
    this.db = new Database(opts.path, { create: true, strict: true });
    this.clock = opts.clock ?? systemClock;
    this.keepEvents = opts.keepEvents ?? 100_000;
    this.db.exec('PRAGMA journal_mode = WAL');
    // SQLite gives -wal and -shm the database file's mode: private from the start, or tightened if older.
    if (opts.path !== ':memory:') privateFiles(sqliteFiles(opts.path));
    this.db.exec('PRAGMA synchronous = FULL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL, expires INTEGER)`);
    this.db.exec('CREATE INDEX IF NOT EXISTS kv_expires ON kv(expires) WHERE expires IS NOT NULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      revision INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, key TEXT NOT NULL, value TEXT, expires INTEGER)`);
    this.q = {
      get: this.db.query(
        'SELECT key, value, revision, expires FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)',
      ),
      getAny: this.db.query('SELECT key, value, revision, expires FROM kv WHERE key = ?'),
      upsert: this.db.query(`INSERT INTO kv (key, value, revision, expires) VALUES (?, ?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires = excluded.expires`),
      del: this.db.query('DELETE FROM kv WHERE key = ?'),
      event: this.db.query('INSERT INTO events (type, key, value, expires) VALUES (?, ?, ?, ?) RETURNING revision'),
      range: this.db.query(`SELECT key, value, revision, expires FROM kv WHERE key >= ? AND key < ? AND key > ?
        AND (expires IS NULL OR expires > ?) ORDER BY key LIMIT ?`),
      expired: this.db.query('SELECT key FROM kv WHERE expires IS NOT NULL AND expires <= ? LIMIT 1000'),
      events: this.db.query(
        'SELECT revision, type, key, value, expires FROM events WHERE revision > ? ORDER BY revision LIMIT ?',
      ),
      current: this.db.query("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS rev"),
      oldest: this.db.query('SELECT COALESCE(MIN(revision), 0) AS rev FROM events'),
      compact: this.db.query('DELETE FROM events WHERE revision <= ?'),
    };
    this.hub = new WatchHub(
      {
        readEvents: async (after, limit) => (this.q.events!.all(after, limit) as EventRow[]).map(toEvent),
        oldestRevision: async () => (this.q.oldest!.get() as { rev: number }).rev,
        currentRevision: () => this.currentRevision(),
      },
      opts.pollMs ?? 500,
    );
    const sweepMs = opts.sweepMs ?? 1000;
    if (sweepMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), sweepMs);
      this.sweeper.unref?.();
    }
  }

  private liveRow(key: string): Row | undefined {
    return (this.q.get!.get(key, this.clock.now()) as Row | null) ?? undefined;
  }

  private write(item: ItemInput): Item {
    const { revision } = this.q.event!.get('put', item.key, item.value, item.expires ?? null) as { revision: number };
    this.q.upsert!.run(item.key, item.value, revision, item.expires ?? null);
    return item.expires === undefined ? { key: item.key, value: item.value, revision } : { ...item, revision };
  }

  private remove(key: string): void {
    this.q.event!.get('delete', key, null, null);
    this.q.del!.run(key);
  }

  private commit<T>(fn: () => T): T {
    const result = this.db.transaction(fn).immediate();
    this.hub.notify();
    return result;
  }

  async get(key: string): Promise<Item | undefined> {
    const row = this.liveRow(key);
    return row ? toItem(row) : undefined;
  }

  async put(item: ItemInput): Promise<Item> {
    return this.commit(() => this.write(item));
  }

  async create(item: ItemInput): Promise<Item> {
    return this.commit(() => {
      if (this.liveRow(item.key)) throw new AlreadyExists(`${item.key} already exists`, { key: item.key });
      return this.write(item);
    });
  }

  async compareAndSwap(expected: Expectation, item: ItemInput): Promise<Item> {
    return this.commit(() => {
      const row = this.liveRow(item.key);
      if (!row) throw new NotFound(`${item.key} not found`, { key: item.key });
      const ok = 'revision' in expected ? row.revision === expected.revision : row.value === expected.value;
      if (!ok) throw new CompareFailed(`${item.key} changed since it was read`, { key: item.key });
      return this.write(item);
    });
  }

  async delete(key: string): Promise<void> {
    this.commit(() => {
      if (!this.liveRow(key)) throw new NotFound(`${key} not found`, { key });
      this.remove(key);
    });
  }

  async deleteIf(key: string, expected: { revision: number }): Promise<boolean> {
    return this.commit(() => {
      const row = this.liveRow(key);
      if (!row || row.revision !== expected.revision) return false;
      this.remove(key);
      return true;
    });
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<Item[]> {
    const rows = this.q.range!.all(
      prefix,
      prefixEnd(prefix),
      options.startAfter ?? '',
      this.clock.now(),
      options.limit ?? -1,
    ) as Row[];
    return rows.map(toItem);
  }

  async currentRevision(): Promise<number> {
    return (this.q.current!.get() as { rev: number }).rev;
  }

  watch(prefix: string, options?: WatchOptions): AsyncIterable<WatchEvent> {
    return this.hub.watch(prefix, options);
  }

  async sweep(): Promise<number> {
    const now = this.clock.now();
    let removed = 0;
    this.commit(() => {
      for (const { key } of this.q.expired!.all(now) as { key: string }[]) {
        this.remove(key);
        removed++;
      }
      const current = (this.q.current!.get() as { rev: number }).rev;
      if (current > this.keepEvents) this.q.compact!.run(current - this.keepEvents);
    });
    return removed;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.hub.close();
    this.db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
