import type { Backend, Item, WatchEvent } from '../backend/index.ts';
import { Compacted, describe } from '../errors.ts';
import { log } from '../log.ts';
import { ChangeFeed } from '../state/feed.ts';
import type { StateBatch, StateEvent, StateItem, StateKind, StateSnapshot } from '../state/items.ts';
import { publicCa, type StoredCa } from './cas.ts';
import type { RotationState } from './rotation.ts';

/** Which backend keys are streamed, as what, and what of each document leaves auth (CAs: the public half only). */
const STREAMED: {
  prefix: string;
  kind: StateKind;
  name: (rest: string) => string;
  value: (doc: unknown) => unknown;
}[] = [
  { prefix: '/nodes/', kind: 'node', name: (r) => r, value: (d) => d },
  // Plugins' resource records, named `<kind>/<name>/<hostId>`; their specs hold no secrets (core/plugin/types.ts).
  { prefix: '/resources/', kind: 'resource', name: (r) => r, value: (d) => d },
  { prefix: '/roles/', kind: 'role', name: (r) => r, value: (d) => d },
  { prefix: '/locks/', kind: 'lock', name: (r) => r, value: (d) => d },
  { prefix: '/cas/', kind: 'ca', name: (r) => r, value: (d) => publicCa(d as StoredCa) },
  {
    prefix: '/rotation_state',
    kind: 'rotation',
    name: () => 'state',
    value: (d) => ({ id: (d as RotationState).id, phase: (d as RotationState).phase }),
  },
];

function streamedAs(key: string) {
  const s = STREAMED.find((x) => key.startsWith(x.prefix) && (x.prefix.endsWith('/') || key === x.prefix));
  return s ? { ...s, rest: key.slice(s.prefix.length) } : undefined;
}

/** The replicated form of a stored item; undefined for keys that are not streamed (users, tokens, sessions...). */
export function stateItemOf(item: Item): StateItem | undefined {
  const s = streamedAs(item.key);
  if (!s) return undefined;
  const out: StateItem = { kind: s.kind, name: s.name(s.rest), value: s.value(JSON.parse(item.value)) };
  if (item.expires !== undefined) out.expires = item.expires;
  return out;
}

function stateEventOf(e: WatchEvent): StateEvent | undefined {
  if (e.type === 'put') {
    const item = stateItemOf(e.item);
    return item && { revision: e.item.revision, op: 'put', item };
  }
  const s = streamedAs(e.key);
  return s && { revision: e.revision, op: 'delete', kind: s.kind, name: s.name(s.rest) };
}

/** An iterator that yields `first` (already read) before the rest of `rest`. */
function prepend<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncIterator<T> {
  let pending: IteratorResult<T> | undefined = first;
  return {
    next: () => {
      const p = pending;
      pending = undefined;
      return p ? Promise.resolve(p) : rest.next();
    },
    return: (v?: unknown) => rest.return?.(v) ?? Promise.resolve({ done: true, value: undefined }),
  };
}

/**
 * Auth's resumable stream of cluster state changes (nodes, resources, roles, locks, public CAs, rotation phase): one watch on
 * the backend (SQLite or PostgreSQL, so changes made through any auth server of the cluster arrive), fanned out to
 * every proxy's long poll from an in-memory history. Counts the full snapshots it serves.
 */
export class ChangeStream {
  readonly feed: ChangeFeed;
  /** Full snapshots served (each reads every streamed resource). */
  snapshots = 0;
  private readonly running: Promise<void>;

  private constructor(
    private readonly backend: Backend,
    private readonly abort: AbortController,
    first: { from: number; events: AsyncIterator<WatchEvent> },
  ) {
    this.feed = new ChangeFeed(first.from);
    this.running = this.follow(first.from, first.events);
  }

  /**
   * Starts following the backend, replaying as much of its recent change log as it keeps (up to `history`
   * revisions), so that proxies which were following another auth server, or this one before a restart, resume
   * instead of taking a fresh snapshot.
   */
  static async open(backend: Backend, history = 10_000): Promise<ChangeStream> {
    const current = await backend.currentRevision();
    const abort = new AbortController();
    return new ChangeStream(backend, abort, await ChangeStream.replayFrom(backend, current, history, abort.signal));
  }

  /** The oldest revision the backend still has changes after, tried from `history` back towards `current`. */
  private static async replayFrom(
    backend: Backend,
    current: number,
    history: number,
    signal: AbortSignal,
  ): Promise<{ from: number; events: AsyncIterator<WatchEvent> }> {
    for (let back = history; back >= 1; back = Math.floor(back / 10)) {
      const from = Math.max(0, current - back);
      if (from === current) break;
      const events = backend.watch('/', { fromRevision: from, signal })[Symbol.asyncIterator]();
      try {
        // The first change after `from` exists (from < current): reading it proves the log still holds it.
        const first = await events.next();
        return { from, events: prepend(first, events) };
      } catch (err) {
        if (!(err instanceof Compacted)) throw err;
      }
    }
    return { from: current, events: backend.watch('/', { fromRevision: current, signal })[Symbol.asyncIterator]() };
  }

  /** Every streamed resource, at a revision from which `changes` continues. */
  async snapshot(): Promise<StateSnapshot> {
    this.snapshots++;
    // The revision is read first: changes after it may also be in the ranges, and replaying them is harmless.
    const revision = await this.backend.currentRevision();
    const items: StateItem[] = [];
    for (const s of STREAMED) {
      const found = s.prefix.endsWith('/') ? await this.backend.range(s.prefix) : [await this.backend.get(s.prefix)];
      for (const it of found) {
        const st = it && stateItemOf(it);
        if (st) items.push(st);
      }
    }
    return { revision, items };
  }

  /** The changes after `after`, waiting up to `waitMs` for one; Compacted when they are no longer kept. */
  changes(after: number, waitMs: number, signal?: AbortSignal): Promise<StateBatch> {
    return this.feed.since(after, { waitMs, signal });
  }

  /** Stops the backend watch and releases waiting readers. */
  async close(): Promise<void> {
    this.abort.abort();
    this.feed.close();
    await this.running;
  }

  private async follow(from: number, first: AsyncIterator<WatchEvent>): Promise<void> {
    let revision = from;
    const signal = this.abort.signal;
    let events: AsyncIterator<WatchEvent> | undefined = first;
    while (!signal.aborted) {
      try {
        events ??= this.backend.watch('/', { fromRevision: revision, signal })[Symbol.asyncIterator]();
        for (let r = await events.next(); !r.done && !signal.aborted; r = await events.next()) {
          const e = r.value;
          const ev = stateEventOf(e);
          revision = e.type === 'put' ? e.item.revision : e.revision;
          this.feed.append(ev ? [ev] : [], revision);
        }
        events = undefined;
      } catch (err) {
        events = undefined;
        if (signal.aborted) break;
        // Lost our place in the backend's log: start over at its current revision; readers behind re-snapshot.
        log.warn('backend watch failed; restarting the change stream', { error: describe(err) });
        await new Promise((r) => setTimeout(r, 200));
        if (err instanceof Compacted) {
          revision = await this.backend.currentRevision().catch((e: unknown) => {
            log.warn('backend unreachable; retrying the change stream', { error: describe(e) });
            return revision;
          });
          this.feed.reset(revision);
        }
      }
    }
  }
}
