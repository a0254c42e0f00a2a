/** The storage contract every cluster-state engine fulfils (DESIGN.md, "Backend"). */

/** A stored value with its revision; `expires` (epoch ms) is set for items with a TTL. */
export interface Item {
  key: string;
  value: string;
  revision: number;
  expires?: number;
}

/** What a writer supplies; the backend assigns the revision. */
export interface ItemInput {
  key: string;
  value: string;
  expires?: number;
}

/** One change, as a watcher sees it. Deletes carry the key and the revision of the delete. */
export type WatchEvent = { type: 'put'; item: Item } | { type: 'delete'; key: string; revision: number };

/** The precondition of a compare-and-swap: the current revision, or the current value. */
export type Expectation = { revision: number } | { value: string };

export interface RangeOptions {
  /** Return at most this many items (default: all). */
  limit?: number;
  /** Start after this key (for paging). */
  startAfter?: string;
}

export interface WatchOptions {
  /** Deliver every change with a revision greater than this; default: only changes from now on. */
  fromRevision?: number;
  /** Stops the watch. */
  signal?: AbortSignal;
}

export interface Backend extends AsyncDisposable {
  /** Engine name, for logs and metrics. */
  readonly name: string;
  /** Returns the live item, or undefined when absent or expired. */
  get(key: string): Promise<Item | undefined>;
  /** Writes unconditionally and returns the stored item. */
  put(item: ItemInput): Promise<Item>;
  /** Writes only if no live item has this key; throws AlreadyExists otherwise. */
  create(item: ItemInput): Promise<Item>;
  /** Writes only if the live item matches `expected`; throws CompareFailed (or NotFound when absent). */
  compareAndSwap(expected: Expectation, item: ItemInput): Promise<Item>;
  /** Deletes a live item; throws NotFound when absent. */
  delete(key: string): Promise<void>;
  /**
   * Deletes the live item only if its revision is `expected.revision`, atomically; returns whether it deleted
   * (false when the item is absent, expired or was rewritten since it was read).
   */
  deleteIf(key: string, expected: { revision: number }): Promise<boolean>;
  /** Live items whose key starts with `prefix`, in key order. */
  range(prefix: string, options?: RangeOptions): Promise<Item[]>;
  /** The newest revision written so far (0 when empty). */
  currentRevision(): Promise<number>;
  /** Streams changes under `prefix` in revision order, without gaps; throws Compacted if `fromRevision` is too old. */
  watch(prefix: string, options?: WatchOptions): AsyncIterable<WatchEvent>;
  /** Deletes items whose TTL has passed (emitting delete events); runs periodically on its own too. */
  sweep(): Promise<number>;
  /** Stops timers and closes connections. */
  close(): Promise<void>;
}

/** The end of a prefix range: the smallest string greater than every string starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
