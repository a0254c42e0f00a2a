import { Compacted } from '../errors.ts';
import type { Item, WatchEvent, WatchOptions } from './types.ts';

/** One row of an engine's event log. */
export interface EventRow {
  revision: number | bigint | string;
  type: 'put' | 'delete';
  key: string;
  value: string | null;
  expires: number | bigint | string | null;
}

/** What an engine exposes to the shared watch loop. */
export interface EventSource {
  /** Events with revision > `after` (any prefix), oldest first, at most `limit`. */
  readEvents(after: number, limit: number): Promise<WatchEvent[]>;
  /** The oldest revision still kept in the event log (0 when nothing was ever compacted). */
  oldestRevision(): Promise<number>;
  currentRevision(): Promise<number>;
}

const revisionOf = (e: WatchEvent) => (e.type === 'put' ? e.item.revision : e.revision);
const keyOf = (e: WatchEvent) => (e.type === 'put' ? e.item.key : e.key);

/**
 * Fans one engine's event log out to watchers. Engines call `notify()` after each commit (and on remote
 * notifications); every watcher then reads the log from its last revision, so none misses or reorders an event.
 */
export class WatchHub {
  private waiters = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly source: EventSource,
    pollMs: number,
  ) {
    // A slow poll covers writers in other processes whose notifications we cannot receive.
    if (pollMs > 0) {
      this.timer = setInterval(() => this.notify(), pollMs);
      this.timer.unref?.();
    }
  }

  /** Wakes every watcher to read new events. */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Streams events under `prefix` after `fromRevision` (default: the current revision). */
  async *watch(prefix: string, options: WatchOptions = {}): AsyncIterable<WatchEvent> {
    const { signal } = options;
    let last = options.fromRevision ?? (await this.source.currentRevision());
    if (options.fromRevision !== undefined) {
      const oldest = await this.source.oldestRevision();
      if (oldest > 0 && last < oldest - 1) {
        throw new Compacted(`revision ${last} was compacted; oldest kept is ${oldest}`, { from: last, oldest });
      }
    }
    while (!signal?.aborted && !this.closed) {
      // Register before reading so a commit between the read and the wait still wakes us.
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.waiters.add(wake);
      const events = await this.source.readEvents(last, 1000);
      for (const e of events) {
        last = revisionOf(e);
        if (keyOf(e).startsWith(prefix)) yield e;
        if (signal?.aborted) break;
      }
      if (events.length === 1000) {
        this.waiters.delete(wake);
        continue;
      }
      if (signal?.aborted || this.closed) break;
      const aborted = new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      await Promise.race([woken, aborted]);
      this.waiters.delete(wake);
    }
  }

  /** Stops the poll timer and releases waiting watchers. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.notify();
  }
}

/** Converts an event-log row into a watch event . */
export function toEvent(r: EventRow): WatchEvent {
  const revision = Number(r.revision);
  if (r.type === 'delete') return { type: 'delete', key: r.key, revision };
  const item: Item = { key: r.key, value: r.value ?? '', revision };
  if (r.expires !== null) item.expires = Number(r.expires);
  return { type: 'put', item };
}
