import { type Clock, systemClock } from '../clock.ts';
import { Compacted } from '../errors.ts';
import { kindOf, type StateBatch, type StateEvent, type StateKind } from './items.ts';

/** How a reader asks for changes: how long to wait for the first one, which kinds, and when to give up. */
export interface SinceOptions {
  waitMs: number;
  kinds?: readonly StateKind[];
  signal?: AbortSignal;
}

/**
 * The recent history of cluster state changes, kept in memory for readers that resume by revision (long polls).
 * It holds the changes after `floor`; a reader further behind gets Compacted and must take a fresh snapshot.
 */
export class ChangeFeed {
  private events: StateEvent[] = [];
  private floor: number;
  private head: number;
  private waiters = new Set<() => void>();
  private closed = false;

  constructor(
    revision: number,
    private readonly capacity = 10_000,
    private readonly clock: Clock = systemClock,
  ) {
    this.floor = revision;
    this.head = revision;
  }

  /** The newest revision the feed has seen (relevant change or not). */
  get revision(): number {
    return this.head;
  }

  /** Appends changes (in revision order) and moves to `revision`; wakes every waiting reader. */
  append(events: StateEvent[], revision: number): void {
    for (const e of events) this.events.push(e);
    if (this.events.length > this.capacity) {
      const dropped = this.events.splice(0, this.events.length - this.capacity);
      this.floor = dropped.at(-1)!.revision;
    }
    if (revision > this.head) this.head = revision;
    if (events.length > 0) this.wake();
  }

  /** Forgets the history and starts over at `revision` (after a fresh snapshot): readers behind it re-snapshot. */
  reset(revision: number): void {
    this.events = [];
    this.floor = revision;
    this.head = revision;
    this.wake();
  }

  /**
   * The changes after `after` (of the given kinds), waiting up to `waitMs` for the first; an empty batch when none
   * came. Throws Compacted when the changes right after `after` are no longer kept.
   */
  async since(after: number, o: SinceOptions): Promise<StateBatch> {
    const deadline = this.clock.now() + o.waitMs;
    for (;;) {
      if (after < this.floor) {
        throw new Compacted(`changes after revision ${after} are no longer kept (oldest kept: ${this.floor + 1})`, {
          after,
          floor: this.floor,
        });
      }
      const events = this.events.filter((e) => e.revision > after && (!o.kinds || o.kinds.includes(kindOf(e))));
      const left = deadline - this.clock.now();
      if (events.length > 0 || left <= 0 || this.closed || o.signal?.aborted) {
        return { revision: Math.max(after, this.head), events };
      }
      await this.wait(left, o.signal);
    }
  }

  /** Releases every waiting reader (with what it has) and refuses to wait from now on. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  private wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
