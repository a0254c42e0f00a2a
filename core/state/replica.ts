import { Compacted, describe } from '../errors.ts';
import { log } from '../log.ts';
import { type Backoff, backoffDelay } from '../net/backoff.ts';
import { ChangeFeed } from './feed.ts';
import type { StateBatch, StateEvent, StateItem, StateKind, StateSnapshot } from './items.ts';
import { kindOf, STATE_KINDS } from './items.ts';

/** Where a replica reads from: auth's change stream, or a proxy's copy of it (agents). */
export interface StateSource {
  /** Every resource at one revision. */
  snapshot(signal: AbortSignal): Promise<StateSnapshot>;
  /** The changes after `after`, waiting up to `waitMs` for the first; throws Compacted when `after` is too old. */
  changes(after: number, waitMs: number, signal: AbortSignal): Promise<StateBatch>;
}

export interface ReplicaOptions {
  /** How long one long poll waits for a change (ms). Default 10 s. */
  waitMs?: number;
  /** Reconnect delays while the source is unreachable (default 100 ms doubling up to 1 s: few proxies follow auth). */
  backoff?: Backoff;
  /** Name in log lines ("auth", "proxy"). */
  from?: string;
}

/** Called after changes were applied, with the kinds that changed (every kind after a fresh snapshot). */
export type ChangeListener = (kinds: ReadonlySet<StateKind>) => void;

const keyOf = (kind: StateKind, name: string) => `${kind}/${name}`;
const ALL_KINDS: ReadonlySet<StateKind> = new Set<StateKind>(STATE_KINDS);

/**
 * An in-memory copy of cluster state: one snapshot, then the changes after its revision, resumed from the last
 * revision after an outage or a fresh snapshot when the source no longer has the changes. While the source is
 * unreachable it keeps serving what it has. Its own feed lets it pass the same changes on (proxy → agents).
 */
export class Replica {
  /** The changes this replica applied, for readers downstream of it. */
  readonly feed: ChangeFeed;
  private items = new Map<string, StateItem>();
  private rev = 0;
  private loaded = false;
  private listeners: ChangeListener[] = [];
  private revisionWaiters: { revision: number; resolve: (ok: boolean) => void }[] = [];
  private readonly abort = new AbortController();
  private pendingSnapshot: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(
    private readonly source: StateSource,
    private readonly o: ReplicaOptions = {},
  ) {
    this.feed = new ChangeFeed(0);
  }

  /** The revision the replica is at (0 before the first snapshot). */
  get revision(): number {
    return this.rev;
  }

  /** True once a snapshot was applied. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Starts following the source in the background (idempotent). */
  start(): void {
    this.running ??= this.run();
  }

  /** Resolves once a snapshot is in; before that, joins (or makes) a snapshot attempt and throws its error. */
  async ready(): Promise<void> {
    if (!this.loaded) await this.snapshotNow();
  }

  /** The documents of one kind (expired ones leave with the delete the backend's sweep streams). */
  list<T>(kind: StateKind): T[] {
    const out: T[] = [];
    for (const it of this.items.values()) if (it.kind === kind) out.push(it.value as T);
    return out;
  }

  /** One document, or undefined. */
  get<T>(kind: StateKind, name: string): T | undefined {
    return this.items.get(keyOf(kind, name))?.value as T | undefined;
  }

  /** Every item of the given kinds at the current revision (for a downstream snapshot). */
  snapshot(kinds: readonly StateKind[]): StateSnapshot {
    return { revision: this.rev, items: [...this.items.values()].filter((it) => kinds.includes(it.kind)) };
  }

  /** Calls `fn` after every applied change. */
  onChange(fn: ChangeListener): void {
    this.listeners.push(fn);
  }

  /** Resolves true once the replica reached `revision` (read-your-writes), false after `ms`. */
  waitForRevision(revision: number, ms: number): Promise<boolean> {
    if (this.rev >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        revision,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.revisionWaiters = this.revisionWaiters.filter((w) => w !== entry);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => entry.resolve(false), ms);
      this.revisionWaiters.push(entry);
    });
  }

  /** Stops following; the last state stays readable. */
  async close(): Promise<void> {
    this.abort.abort();
    this.wakeSleep?.();
    this.feed.close();
    for (const w of [...this.revisionWaiters]) w.resolve(false);
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let resync = !this.loaded;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (resync) await this.snapshotNow();
        resync = false;
        const batch = await this.source.changes(this.rev, this.o.waitMs ?? 10_000, signal);
        this.apply(batch);
        if (failures > 0) log.info('cluster state stream resumed', { from: this.o.from, revision: this.rev });
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Compacted) {
          log.info('cluster state stream has a gap: taking a fresh snapshot', {
            from: this.o.from,
            error: describe(err),
          });
          resync = true;
          continue;
        }
        if (failures === 0) {
          log.warn('cluster state stream interrupted; serving the last known state', {
            from: this.o.from,
            error: describe(err),
          });
        }
        await this.sleep(backoffDelay(this.o.backoff ?? { baseMs: 100, maxMs: 1_000 }, failures++));
      }
    }
  }

  /** Takes a fresh snapshot; concurrent callers share one request. */
  private snapshotNow(): Promise<void> {
    this.pendingSnapshot ??= this.resync().finally(() => {
      this.pendingSnapshot = undefined;
    });
    return this.pendingSnapshot;
  }

  private async resync(): Promise<void> {
    const snap = await this.source.snapshot(this.abort.signal);
    this.items = new Map(snap.items.map((it) => [keyOf(it.kind, it.name), it]));
    this.rev = snap.revision;
    this.loaded = true;
    this.feed.reset(snap.revision);
    this.changed(ALL_KINDS);
  }

  private apply(batch: StateBatch): void {
    // Changes at or below the replica's revision are already in what it holds (a snapshot overlapping the stream).
    const events = batch.events.filter((e) => e.revision > this.rev);
    const kinds = new Set<StateKind>();
    for (const e of events) {
      this.applyOne(e);
      kinds.add(kindOf(e));
    }
    this.rev = Math.max(this.rev, batch.revision);
    this.feed.append(events, this.rev);
    if (kinds.size > 0) this.changed(kinds);
    else this.settleWaiters();
  }

  private applyOne(e: StateEvent): void {
    if (e.op === 'put') this.items.set(keyOf(e.item.kind, e.item.name), e.item);
    else this.items.delete(keyOf(e.kind, e.name));
  }

  private changed(kinds: ReadonlySet<StateKind>): void {
    this.settleWaiters();
    for (const fn of this.listeners) {
      try {
        fn(kinds);
      } catch (err) {
        log.error('cluster state listener failed', { error: describe(err) });
      }
    }
  }

  private settleWaiters(): void {
    for (const w of this.revisionWaiters.filter((x) => x.revision <= this.rev)) w.resolve(true);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }
}
