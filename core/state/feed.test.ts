import { describe, expect, test } from 'bun:test';
import { Compacted } from '../errors.ts';
import { ChangeFeed } from './feed.ts';
import type { StateEvent, StateKind } from './items.ts';

const put = (revision: number, kind: StateKind, name: string): StateEvent => ({
  revision,
  op: 'put',
  item: { kind, name, value: {} },
});

describe('ChangeFeed', () => {
  test('a reader of some kinds gets only those, and is not answered for other kinds', async () => {
    const feed = new ChangeFeed(10);
    const reading = feed.since(10, { waitMs: 5_000, kinds: ['lock'] });
    feed.append([put(11, 'node', 'n1')], 11);
    feed.append([], 12);
    feed.append([put(13, 'lock', 'l1')], 13);
    expect(await reading).toEqual({ revision: 13, events: [put(13, 'lock', 'l1')] });
    // Every kind, from the start: everything after the revision, in order.
    expect((await feed.since(10, { waitMs: 0 })).events.map((e) => e.revision)).toEqual([11, 13]);
    expect(await feed.since(13, { waitMs: 0 })).toEqual({ revision: 13, events: [] });
    feed.close();
  });

  test('history beyond its capacity is dropped: readers from before it must take a snapshot', async () => {
    const feed = new ChangeFeed(0, 4);
    for (let r = 1; r <= 6; r++) feed.append([put(r, 'node', `n${r}`)], r);
    await expect(feed.since(0, { waitMs: 0 })).rejects.toBeInstanceOf(Compacted);
    expect((await feed.since(2, { waitMs: 0 })).events.map((e) => e.revision)).toEqual([3, 4, 5, 6]);
    feed.reset(9);
    await expect(feed.since(6, { waitMs: 0 })).rejects.toBeInstanceOf(Compacted);
    feed.close();
  });
});
