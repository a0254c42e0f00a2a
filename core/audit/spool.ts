import { Database, type Statement } from 'bun:sqlite';
import { type Clock, systemClock } from '../clock.ts';
import { parentDirFor, privateFiles, sqliteFiles } from '../config/privateDir.ts';
import { describe } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { AuditInput } from './events.ts';

/** Events waiting in memory are written to disk within this many milliseconds (the crash window). */
export const WRITE_WINDOW_MS = 20;
/** ...or as soon as this many wait, whichever comes first. */
export const WRITE_WINDOW_EVENTS = 500;
/** Most events one request carries (auth and the proxy refuse more than 1000). */
const SEND_EVENTS = 1000;
/** Most JSON bytes one request carries, under the 1 MiB request body limit. */
const SEND_BYTES = 768 * 1024;

export interface SpoolOptions {
  /** SQLite file of the spool; `:memory:` keeps nothing across restarts. */
  path: string;
  /** Sends a batch; resolves only when the receiver stored it. */
  send: (events: AuditInput[]) => Promise<void>;
  intervalMs?: number;
  /** Most events per request. Default (and at most) 1000. */
  batch?: number;
  /** Oldest events are dropped (and counted in a warning) beyond this many. Default 1,000,000. */
  maxEvents?: number;
  /** Stamps events added without a time. Default the wall clock. */
  clock?: Clock;
  /** Makes event IDs. Default the platform's cryptographic randomness. */
  ids?: IdSource;
}

/**
 * A durable outbox for audit events: each event gets its ID and time when emitted, is written to disk before
 * anything is sent, and leaves the spool only after the receiver acknowledged it. A node that cannot reach Auth
 * keeps its events and sends them later, in order; resends are harmless because the store ignores known IDs.
 *
 * Durability window: added events wait in memory at most WRITE_WINDOW_MS (20 ms) or WRITE_WINDOW_EVENTS (500),
 * whichever comes first, then go to disk in one transaction; a crash (kill -9) loses at most those. `close()` writes
 * them first. Writing each event in its own transaction cost more than the statement it audited (measured).
 */
export class EventSpool {
  private readonly db: Database;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly insert: Statement;
  private flushing: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  private scheduled: ReturnType<typeof setTimeout> | undefined;
  /** Events added but not yet on disk, as the JSON they are stored as, oldest first. */
  private queued: string[] = [];
  /** Rows on disk plus events queued, kept here: counting the table on every add was a scan per event. */
  private count: number;

  constructor(private readonly o: SpoolOptions) {
    if (o.path !== ':memory:') parentDirFor(o.path);
    this.db = new Database(o.path, { create: true, strict: true });
    this.db.exec('PRAGMA journal_mode = WAL');
    // SQLite gives -wal and -shm the database file's mode: private from the start, or tightened if older.
    if (o.path !== ':memory:') privateFiles(sqliteFiles(o.path));
    // WAL + NORMAL survives a process crash (kill -9); FULL would also cover power loss but puts an fsync per
    // write on the node's event loop, which capped sessions per second (measured). The store itself stays FULL.
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)');
    this.insert = this.db.prepare('INSERT INTO outbox (json) VALUES (?)');
    this.count = (this.db.query('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    this.timer = setInterval(() => void this.flush(), o.intervalMs ?? 1000);
    this.timer.unref?.();
  }

  /** Stamps events and queues them; they reach disk within the durability window, then are sent. */
  add(events: AuditInput[]): void {
    if (this.closed || events.length === 0) return;
    for (const e of events) {
      const time = typeof e.time === 'string' ? e.time : new Date((this.o.clock ?? systemClock).now()).toISOString();
      this.queued.push(JSON.stringify({ ...e, time, id: e.id ?? `${time}-${(this.o.ids ?? cryptoIds).uuid()}` }));
    }
    this.count += events.length;
    // Past the cap the oldest go now, so the spool never holds more than maxEvents, even for a moment.
    if (this.queued.length >= WRITE_WINDOW_EVENTS || this.count > this.max) this.write();
    else this.scheduled ??= setTimeout(() => this.write(), WRITE_WINDOW_MS);
  }

  private get max(): number {
    return this.o.maxEvents ?? 1_000_000;
  }

  /** Writes the queued events and starts sending them. */
  private write(): void {
    this.persist();
    if (!this.closed) void this.flush();
  }

  /** Writes the queued events in one transaction and drops the oldest beyond the cap. */
  private persist(): void {
    if (this.scheduled) clearTimeout(this.scheduled);
    this.scheduled = undefined;
    if (this.queued.length > 0) {
      const rows = this.queued;
      this.queued = [];
      this.db.transaction(() => {
        for (const json of rows) this.insert.run(json);
      })();
    }
    if (this.count > this.max) {
      const n = this.count;
      this.db.query('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)').run(n - this.max);
      this.count = this.max;
      log.warn('audit spool full: dropped the oldest events', { dropped: n - this.max });
    }
  }

  /** Events waiting to be sent. */
  get pending(): number {
    return this.count;
  }

  /**
   * Sends what is on disk, oldest first, until it is all sent or the receiver fails; one request is in flight at a
   * time. Events added meanwhile go with the next write window.
   */
  flush(): Promise<void> {
    // A call while a request is out gets a pass of its own after it: that request may have failed before this call.
    if (this.flushing) {
      this.again ??= this.flushing.then(this.rerun, this.rerun);
      return this.again;
    }
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private readonly rerun = (): Promise<void> => {
    this.again = undefined;
    return this.flush();
  };

  /**
   * The next batch: oldest first, at most `batch` events and SEND_BYTES of JSON (always at least one); `more` when
   * rows were left on disk behind it.
   */
  private nextBatch(): { rows: { seq: number; json: string }[]; more: boolean } {
    const limit = Math.min(this.o.batch ?? SEND_EVENTS, SEND_EVENTS);
    const rows = this.db.query('SELECT seq, json FROM outbox ORDER BY seq LIMIT ?').all(limit) as {
      seq: number;
      json: string;
    }[];
    let bytes = 0;
    let n = 0;
    while (n < rows.length && (n === 0 || bytes + rows[n]!.json.length <= SEND_BYTES)) bytes += rows[n++]!.json.length;
    return { rows: rows.slice(0, n), more: n < rows.length || rows.length === limit };
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      // Nothing queued or on disk: the idle agent's once-a-second flush touches no database at all.
      if (this.count === 0) return;
      this.persist();
      const { rows, more } = this.nextBatch();
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
      // What came in during the request waits for its write window (the next write() sends it): going again at
      // once made a request, and an audit commit at auth, per round trip under steady load (430/s measured).
      if (!more) return;
    }
  }

  /** Writes what is queued, tries a last flush, then closes the spool file (unsent events stay for the next start). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.persist();
    await this.flush();
    this.closed = true;
    clearInterval(this.timer);
    await this.flushing;
    // Events added while the last flush was out: to disk for the next start (this also stops their window's timer,
    // which would otherwise fire on the closed file).
    this.persist();
    this.db.close();
  }
}
