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
  /** Waiting readers, each with the kinds it waits for (undefined: every kind). */
  private waiters = new Map<() => void, readonly StateKind[] | undefined>();
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

  /** Appends changes (in revision order) and moves to `revision`; wakes the readers waiting for their kinds. */
  append(events: StateEvent[], revision: number): void {
    for (const e of events) this.events.push(e);
    // Trimmed in chunks, so a busy feed does not shift its whole history on every change.
    if (this.events.length > this.capacity + (this.capacity >> 2)) {
      const dropped = this.events.splice(0, this.events.length - this.capacity);
      this.floor = dropped.at(-1)!.revision;
    }
    if (revision > this.head) this.head = revision;
    if (events.length > 0) this.wake(new Set(events.map(kindOf)));
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
      const events = this.after(after).filter((e) => !o.kinds || o.kinds.includes(kindOf(e)));
      const left = deadline - this.clock.now();
      if (events.length > 0 || left <= 0 || this.closed || o.signal?.aborted) {
        return { revision: Math.max(after, this.head), events };
      }
      await this.wait(left, o.kinds, o.signal);
    }
  }

  /** The kept changes with a revision above `revision` (binary search: the history is in revision order). */
  private after(revision: number): StateEvent[] {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.revision > revision) hi = mid;
      else lo = mid + 1;
    }
    return this.events.slice(lo);
  }

  /** Releases every waiting reader (with what it has) and refuses to wait from now on. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Wakes the readers waiting for any of `kinds` (every reader when absent). */
  private wake(kinds?: ReadonlySet<StateKind>): void {
    for (const [w, wants] of [...this.waiters]) {
      if (!kinds || !wants || wants.some((k) => kinds.has(k))) w();
    }
  }

  private wait(ms: number, kinds: readonly StateKind[] | undefined, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.set(done, kinds);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
