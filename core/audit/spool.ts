import { Database } from 'bun:sqlite';
import { type Clock, systemClock } from '../clock.ts';
import { parentDirFor, privateFiles, sqliteFiles } from '../config/privateDir.ts';
import { describe } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { AuditInput } from './events.ts';

export interface SpoolOptions {
  /** SQLite file of the spool; `:memory:` keeps nothing across restarts. */
  path: string;
  /** Sends a batch; resolves only when the receiver stored it. */
  send: (events: AuditInput[]) => Promise<void>;
  intervalMs?: number;
  batch?: number;
  /** Oldest events are dropped (and counted in a warning) beyond this many. Default 1,000,000. */
  maxEvents?: number;
  /** Events added within this window go in one request. Default 20 ms. */
  coalesceMs?: number;
  /** Stamps events added without a time. Default the wall clock. */
  clock?: Clock;
  /** Makes event IDs. Default the platform's cryptographic randomness. */
  ids?: IdSource;
}

/**
 * A durable outbox for audit events: each event gets its ID and time when emitted, is written to disk before
 * anything is sent, and leaves the spool only after the receiver acknowledged it. A node that cannot reach Auth
 * keeps its events and sends them later, in order; resends are harmless because the store ignores known IDs.
 */
export class EventSpool {
  private readonly db: Database;
  private readonly timer: ReturnType<typeof setInterval>;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  private scheduled: ReturnType<typeof setTimeout> | undefined;
  /** Rows in the outbox, kept here: counting the table on every add was a scan per event (a backlog made it ms). */
  private count: number;

  constructor(private readonly o: SpoolOptions) {
    if (o.path !== ':memory:') parentDirFor(o.path);
    this.db = new Database(o.path, { create: true, strict: true });
    this.db.exec('PRAGMA journal_mode = WAL');
    // SQLite gives -wal and -shm the database file's mode: private from the start, or tightened if older.
    if (o.path !== ':memory:') privateFiles(sqliteFiles(o.path));
    // WAL + NORMAL survives a process crash (kill -9); FULL would also cover power loss but puts an fsync per
    // event on the node's event loop, which capped sessions per second (measured). The store itself stays FULL.
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)');
    this.count = (this.db.query('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    this.timer = setInterval(() => void this.flush(), o.intervalMs ?? 1000);
    this.timer.unref?.();
  }

  /** Writes events to the spool (durably) and starts sending them. */
  add(events: AuditInput[]): void {
    if (this.closed || events.length === 0) return;
    const insert = this.db.query('INSERT INTO outbox (json) VALUES (?)');
    this.db.transaction(() => {
      for (const e of events) {
        const time = typeof e.time === 'string' ? e.time : new Date((this.o.clock ?? systemClock).now()).toISOString();
        insert.run(JSON.stringify({ ...e, time, id: e.id ?? `${time}-${(this.o.ids ?? cryptoIds).uuid()}` }));
      }
    })();
    this.count += events.length;
    const max = this.o.maxEvents ?? 1_000_000;
    if (this.count > max) {
      const n = this.count;
      this.db.query('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)').run(n - max);
      this.count = max;
      log.warn('audit spool full: dropped the oldest events', { dropped: n - max });
    }
    // Events come in bursts (a session start is several); one request carries the burst.
    this.scheduled ??= setTimeout(() => {
      this.scheduled = undefined;
      void this.flush();
    }, this.o.coalesceMs ?? 20);
  }

  /** Events waiting to be sent. */
  get pending(): number {
    return this.count;
  }

  /** Sends what is spooled, oldest first, until empty or the receiver fails; one flush runs at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const batch = this.o.batch ?? 500;
    while (!this.closed) {
      const rows = this.db.query('SELECT seq, json FROM outbox ORDER BY seq LIMIT ?').all(batch) as {
        seq: number;
        json: string;
      }[];
      if (rows.length === 0) return;
      try {
        await this.o.send(rows.map((r) => JSON.parse(r.json) as AuditInput));
      } catch (err) {
        this.failures++;
        if (this.failures === 1 || this.failures % 30 === 0) {
          log.warn('could not send audit events; keeping them spooled', {
            error: describe(err),
            pending: this.pending,
          });
        }
        return;
      }
      this.failures = 0;
      if (this.closed) return;
      this.count -= this.db.query('DELETE FROM outbox WHERE seq <= ?').run(rows.at(-1)!.seq).changes;
    }
  }

  /** Tries a last flush, then closes the spool file (unsent events stay on disk for the next start). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearInterval(this.timer);
    if (this.scheduled) clearTimeout(this.scheduled);
    await this.flushing;
    this.db.close();
  }
}
