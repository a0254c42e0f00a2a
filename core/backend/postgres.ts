import { SQL } from 'bun';
import { type Clock, systemClock } from '../clock.ts';
import { AlreadyExists, CompareFailed, describe, NotFound, Unavailable } from '../errors.ts';
import { log } from '../log.ts';
import type { Backend, Expectation, Item, ItemInput, RangeOptions, WatchEvent, WatchOptions } from './types.ts';
import { prefixEnd } from './types.ts';
import { type EventRow, toEvent, WatchHub } from './watcher.ts';

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db`. */
  url: string;
  clock?: Clock;
  /** How often expired items are swept (ms); 0 disables the timer. Default 1000. */
  sweepMs?: number;
  /** Events kept for resumable watches. Default 100000. */
  keepEvents?: number;
  /** Safety-net poll for missed notifications (ms). Default 2000. */
  pollMs?: number;
}

interface Row {
  key: string;
  value: string;
  revision: string | number;
  expires: string | number | null;
}

const CHANNEL = 'tp_backend_events';
// One advisory lock serialises writers, so revisions commit in order and a watcher reading "revision > n" after a
// notification can never skip a revision that commits later.
const WRITE_LOCK = 7_270_001;

const toItem = (r: Row): Item => {
  const item: Item = { key: r.key, value: r.value, revision: Number(r.revision) };
  if (r.expires !== null) item.expires = Number(r.expires);
  return item;
};

type Tx = SQL;

/**
 * The HA engine: several auth servers share one PostgreSQL database. Writes are serialised transactions that
 * append to an event log; watches wake on LISTEN/NOTIFY (plus a slow poll) and read the log in revision order.
 */
export class PostgresBackend implements Backend {
  readonly name = 'postgres';
  private readonly clock: Clock;
  private readonly keepEvents: number;
  private hub!: WatchHub;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private subscription: { unlisten(): Promise<void> } | undefined;

  private constructor(
    private readonly sql: SQL,
    opts: PostgresOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.keepEvents = opts.keepEvents ?? 100_000;
  }

  /** Connects, creates the schema if needed and starts listening for other writers' commits. */
  static async open(opts: PostgresOptions): Promise<PostgresBackend> {
    const sql = new SQL(opts.url, { max: 10 });
    try {
      await sql`SELECT 1`;
    } catch (err) {
      await sql.close();
      throw new Unavailable(
        `cannot reach PostgreSQL at ${redact(opts.url)}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    const b = new PostgresBackend(sql, opts);
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS tp_kv (
        key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL, revision BIGINT NOT NULL, expires BIGINT)`;
      await tx`CREATE INDEX IF NOT EXISTS tp_kv_expires ON tp_kv(expires) WHERE expires IS NOT NULL`;
      await tx`CREATE TABLE IF NOT EXISTS tp_events (
        revision BIGSERIAL PRIMARY KEY, type TEXT NOT NULL, key TEXT NOT NULL, value TEXT, expires BIGINT)`;
    });
    b.hub = new WatchHub(
      {
        readEvents: async (after, limit) =>
          (
            (await sql`SELECT revision, type, key, value, expires FROM tp_events WHERE revision > ${after}
            ORDER BY revision LIMIT ${limit}`) as EventRow[]
          ).map(toEvent),
        oldestRevision: async () => Number((await sql`SELECT COALESCE(MIN(revision), 0) AS rev FROM tp_events`)[0].rev),
        currentRevision: () => b.currentRevision(),
      },
      opts.pollMs ?? 2000,
    );
    b.subscription = await sql.listen(CHANNEL, () => b.hub.notify());
    const sweepMs = opts.sweepMs ?? 1000;
    if (sweepMs > 0) {
      b.sweeper = setInterval(
        () => void b.sweep().catch((err) => log.warn('backend sweep failed', { error: describe(err) })),
        sweepMs,
      );
      b.sweeper.unref?.();
    }
    return b;
  }

  private async liveRow(tx: Tx, key: string, lock = false): Promise<Row | undefined> {
    const rows = lock
      ? await tx`SELECT key, value, revision, expires FROM tp_kv WHERE key = ${key}
          AND (expires IS NULL OR expires > ${this.clock.now()}) FOR UPDATE`
      : await tx`SELECT key, value, revision, expires FROM tp_kv WHERE key = ${key}
          AND (expires IS NULL OR expires > ${this.clock.now()})`;
    return (rows as Row[])[0];
  }

  private async write(tx: Tx, item: ItemInput): Promise<Item> {
    const expires = item.expires ?? null;
    const [ev] = await tx`INSERT INTO tp_events (type, key, value, expires)
      VALUES ('put', ${item.key}, ${item.value}, ${expires}) RETURNING revision`;
    const revision = Number(ev.revision);
    await tx`INSERT INTO tp_kv (key, value, revision, expires) VALUES (${item.key}, ${item.value}, ${revision}, ${expires})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, revision = EXCLUDED.revision, expires = EXCLUDED.expires`;
    return item.expires === undefined ? { key: item.key, value: item.value, revision } : { ...item, revision };
  }

  private async remove(tx: Tx, key: string): Promise<void> {
    await tx`INSERT INTO tp_events (type, key) VALUES ('delete', ${key})`;
    await tx`DELETE FROM tp_kv WHERE key = ${key}`;
  }

  private async commit<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`;
      const r = await fn(tx);
      await tx`SELECT pg_notify(${CHANNEL}, '')`;
      return r;
    });
    this.hub.notify();
    return result as T;
  }

  async get(key: string): Promise<Item | undefined> {
    const row = await this.liveRow(this.sql, key);
    return row ? toItem(row) : undefined;
  }

  async put(item: ItemInput): Promise<Item> {
    return this.commit((tx) => this.write(tx, item));
  }

  async create(item: ItemInput): Promise<Item> {
    return this.commit(async (tx) => {
      if (await this.liveRow(tx, item.key, true))
        throw new AlreadyExists(`${item.key} already exists`, { key: item.key });
      return this.write(tx, item);
    });
  }

  async compareAndSwap(expected: Expectation, item: ItemInput): Promise<Item> {
    return this.commit(async (tx) => {
      const row = await this.liveRow(tx, item.key, true);
      if (!row) throw new NotFound(`${item.key} not found`, { key: item.key });
      const ok = 'revision' in expected ? Number(row.revision) === expected.revision : row.value === expected.value;
      if (!ok) throw new CompareFailed(`${item.key} changed since it was read`, { key: item.key });
      return this.write(tx, item);
    });
  }

  async delete(key: string): Promise<void> {
    await this.commit(async (tx) => {
      if (!(await this.liveRow(tx, key, true))) throw new NotFound(`${key} not found`, { key });
      await this.remove(tx, key);
    });
  }

  async deleteIf(key: string, expected: { revision: number }): Promise<boolean> {
    return this.commit(async (tx) => {
      const row = await this.liveRow(tx, key, true);
      if (!row || Number(row.revision) !== expected.revision) return false;
      await this.remove(tx, key);
      return true;
    });
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<Item[]> {
    const limit = options.limit ?? null;
    const rows = await this.sql`SELECT key, value, revision, expires FROM tp_kv
      WHERE key >= ${prefix} AND key < ${prefixEnd(prefix)} AND key > ${options.startAfter ?? ''}
      AND (expires IS NULL OR expires > ${this.clock.now()}) ORDER BY key LIMIT ${limit}`;
    return (rows as Row[]).map(toItem);
  }

  async currentRevision(): Promise<number> {
    const [r] = await this
      .sql`SELECT COALESCE((SELECT last_value FROM tp_events_revision_seq WHERE is_called), 0) AS rev`;
    return Number(r.rev);
  }

  watch(prefix: string, options?: WatchOptions): AsyncIterable<WatchEvent> {
    return this.hub.watch(prefix, options);
  }

  async sweep(): Promise<number> {
    const now = this.clock.now();
    return this.commit(async (tx) => {
      const expired = (await tx`SELECT key FROM tp_kv WHERE expires IS NOT NULL AND expires <= ${now} LIMIT 1000`) as {
        key: string;
      }[];
      for (const { key } of expired) await this.remove(tx, key);
      await tx`DELETE FROM tp_events WHERE revision <= (SELECT MAX(revision) FROM tp_events) - ${this.keepEvents}`;
      return expired.length;
    });
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.hub.close();
    await this.subscription?.unlisten();
    await this.sql.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Hides the password in a connection URL for error messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
