import { afterEach, describe, expect, test } from 'bun:test';
import { ManualClock } from '../clock.ts';
import { AlreadyExists, Compacted, CompareFailed, NotFound } from '../errors.ts';
import { takeOnce } from './takeOnce.ts';
import type { Backend, WatchEvent } from './types.ts';

/** Opens a backend on the suite's storage; calling it again must reopen the same data. */
export type BackendFactory = (opts: { clock: ManualClock; keepEvents?: number }) => Promise<Backend>;

async function collect(
  it: AsyncIterable<WatchEvent>,
  n: number,
  ac: AbortController,
  ms = 10_000,
): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const timer = setTimeout(() => ac.abort(), ms);
  for await (const e of it) {
    out.push(e);
    if (out.length >= n) break;
  }
  clearTimeout(timer);
  ac.abort();
  return out;
}

const rev = (e: WatchEvent) => (e.type === 'put' ? e.item.revision : e.revision);

/**
 * The compliance suite every storage engine must pass (STYLE.md: Teleport's backend suite). Each test gets a
 * fresh key space under a unique prefix, so engines need no wipe between tests.
 */
export function backendConformance(engine: string, factory: BackendFactory): void {
  describe(`backend conformance: ${engine}`, () => {
    const open: Backend[] = [];
    let n = 0;
    const setup = async (keepEvents?: number) => {
      const clock = new ManualClock(Date.now());
      const b = await factory({ clock, keepEvents });
      open.push(b);
      return { b, clock, p: `/t${Date.now()}-${n++}/` };
    };
    afterEach(async () => {
      for (const b of open.splice(0)) await b.close();
    });

    test('put, get, overwrite and delete', async () => {
      const { b, p } = await setup();
      expect(await b.get(`${p}missing`)).toBeUndefined();
      const a = await b.put({ key: `${p}a`, value: 'one' });
      const a2 = await b.put({ key: `${p}a`, value: 'two' });
      expect(a2.revision).toBeGreaterThan(a.revision);
      expect(await b.get(`${p}a`)).toEqual({ key: `${p}a`, value: 'two', revision: a2.revision });
      await b.delete(`${p}a`);
      expect(await b.get(`${p}a`)).toBeUndefined();
      await expect(b.delete(`${p}a`)).rejects.toBeInstanceOf(NotFound);
    });

    test('create fails when the key exists', async () => {
      const { b, p } = await setup();
      await b.create({ key: `${p}k`, value: 'first' });
      await expect(b.create({ key: `${p}k`, value: 'second' })).rejects.toBeInstanceOf(AlreadyExists);
      expect((await b.get(`${p}k`))?.value).toBe('first');
    });

    test('compareAndSwap checks revision or value', async () => {
      const { b, p } = await setup();
      await expect(b.compareAndSwap({ revision: 1 }, { key: `${p}x`, value: 'v' })).rejects.toBeInstanceOf(NotFound);
      const x = await b.put({ key: `${p}x`, value: 'v1' });
      await expect(
        b.compareAndSwap({ revision: x.revision + 1000 }, { key: `${p}x`, value: 'bad' }),
      ).rejects.toBeInstanceOf(CompareFailed);
      await expect(b.compareAndSwap({ value: 'nope' }, { key: `${p}x`, value: 'bad' })).rejects.toBeInstanceOf(
        CompareFailed,
      );
      const x2 = await b.compareAndSwap({ revision: x.revision }, { key: `${p}x`, value: 'v2' });
      await b.compareAndSwap({ value: 'v2' }, { key: `${p}x`, value: 'v3' });
      expect((await b.get(`${p}x`))?.value).toBe('v3');
      expect(x2.revision).toBeGreaterThan(x.revision);
    });

    test('compareAndSwap under contention loses no update', async () => {
      const { b, p } = await setup();
      const key = `${p}counter`;
      await b.put({ key, value: '0' });
      const writers = 8;
      const each = 25;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < each; i++) {
            for (let attempt = 0; attempt < 10_000; attempt++) {
              const cur = (await b.get(key))!;
              try {
                await b.compareAndSwap({ revision: cur.revision }, { key, value: String(Number(cur.value) + 1) });
                break;
              } catch (err) {
                if (!(err instanceof CompareFailed)) throw err;
              }
            }
          }
        }),
      );
      expect((await b.get(key))?.value).toBe(String(writers * each));
    });

    test('deleteIf deletes only the revision it was given', async () => {
      const { b, clock, p } = await setup();
      expect(await b.deleteIf(`${p}none`, { revision: 1 })).toBe(false);
      const v1 = await b.put({ key: `${p}d`, value: 'v1' });
      const v2 = await b.put({ key: `${p}d`, value: 'v2' });
      expect(await b.deleteIf(`${p}d`, { revision: v1.revision })).toBe(false);
      expect((await b.get(`${p}d`))?.value).toBe('v2');
      expect(await b.deleteIf(`${p}d`, { revision: v2.revision })).toBe(true);
      expect(await b.get(`${p}d`)).toBeUndefined();
      expect(await b.deleteIf(`${p}d`, { revision: v2.revision })).toBe(false);
      const ttl = await b.put({ key: `${p}t`, value: 'short', expires: clock.now() + 1000 });
      clock.advance(1001);
      expect(await b.deleteIf(`${p}t`, { revision: ttl.revision })).toBe(false);
    });

    test('take-once with 20 concurrent racers has exactly one winner', async () => {
      const { b, p } = await setup();
      for (let round = 0; round < 5; round++) {
        const key = `${p}once${round}`;
        await b.put({ key, value: `secret${round}` });
        const results = await Promise.all(Array.from({ length: 20 }, () => takeOnce(b, key)));
        const winners = results.filter((r) => typeof r === 'object');
        expect(winners).toHaveLength(1);
        expect(winners[0]).toMatchObject({ key, value: `secret${round}` });
        expect(results.filter((r) => r === 'taken' || r === 'missing')).toHaveLength(19);
        expect(await b.get(key)).toBeUndefined();
      }
    });

    test('take-once never deletes an item rewritten after it was read', async () => {
      const { b, p } = await setup();
      const key = `${p}replaced`;
      await b.put({ key, value: 'old' });
      // Another writer replaces the item between this caller's read and its delete.
      const racing: Backend = Object.create(b);
      racing.get = async (k) => {
        const item = await b.get(k);
        await b.put({ key: k, value: 'new' });
        return item;
      };
      expect(await takeOnce(racing, key)).toBe('taken');
      expect((await b.get(key))?.value).toBe('new');
    });

    test('range returns a prefix in key order, with limit and paging', async () => {
      const { b, p } = await setup();
      for (const k of ['c', 'a', 'b', 'd/e']) await b.put({ key: `${p}r/${k}`, value: k });
      await b.put({ key: `${p}r2/z`, value: 'outside' });
      await b.put({ key: `${p}q`, value: 'outside' });
      expect((await b.range(`${p}r/`)).map((i) => i.value)).toEqual(['a', 'b', 'c', 'd/e']);
      const page1 = await b.range(`${p}r/`, { limit: 2 });
      expect(page1.map((i) => i.value)).toEqual(['a', 'b']);
      const page2 = await b.range(`${p}r/`, { limit: 2, startAfter: page1.at(-1)!.key });
      expect(page2.map((i) => i.value)).toEqual(['c', 'd/e']);
    });

    test('items expire at their TTL and the sweep reports a delete', async () => {
      const { b, clock, p } = await setup();
      const ac = new AbortController();
      const from = await b.currentRevision();
      await b.put({ key: `${p}ttl`, value: 'short', expires: clock.now() + 1000 });
      await b.put({ key: `${p}keep`, value: 'long' });
      expect((await b.get(`${p}ttl`))?.value).toBe('short');
      clock.advance(1001);
      expect(await b.get(`${p}ttl`)).toBeUndefined();
      expect((await b.range(p)).map((i) => i.key)).toEqual([`${p}keep`]);
      await b.create({ key: `${p}ttl`, value: 'recreated', expires: clock.now() + 1000 });
      clock.advance(1001);
      expect(await b.sweep()).toBeGreaterThanOrEqual(1);
      const events = await collect(b.watch(p, { fromRevision: from, signal: ac.signal }), 4, ac);
      expect(events.map((e) => e.type)).toEqual(['put', 'put', 'put', 'delete']);
    });

    test('watch delivers every change in order, and resumes from a revision', async () => {
      const { b, p } = await setup();
      const start = await b.currentRevision();
      const ac = new AbortController();
      const live = collect(b.watch(p, { signal: ac.signal }), 200, ac);
      await Bun.sleep(20);
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 50; i++) await b.put({ key: `${p}w${w}/${i}`, value: String(i) });
        }),
      );
      await b.put({ key: '/elsewhere/ignored', value: 'x' });
      const got = await live;
      expect(got).toHaveLength(200);
      const revs = got.map(rev);
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
      expect(new Set(got.map((e) => (e.type === 'put' ? e.item.key : e.key))).size).toBe(200);
      const ac2 = new AbortController();
      const replay = await collect(b.watch(p, { fromRevision: start, signal: ac2.signal }), 200, ac2);
      expect(replay.map(rev)).toEqual(revs);
      const ac3 = new AbortController();
      const tail = await collect(b.watch(p, { fromRevision: revs[149], signal: ac3.signal }), 50, ac3);
      expect(tail.map(rev)).toEqual(revs.slice(150));
    });

    test('resuming from a compacted revision fails loudly', async () => {
      const { b, p } = await setup(5);
      const first = await b.put({ key: `${p}c0`, value: '0' });
      for (let i = 1; i < 20; i++) await b.put({ key: `${p}c${i}`, value: String(i) });
      await b.sweep();
      const ac = new AbortController();
      const it = b.watch(p, { fromRevision: first.revision - 1, signal: ac.signal })[Symbol.asyncIterator]();
      await expect(it.next()).rejects.toBeInstanceOf(Compacted);
      ac.abort();
    });

    test('data persists across a restart', async () => {
      const { b, clock, p } = await setup();
      await b.put({ key: `${p}persist`, value: 'kept' });
      await b.close();
      open.splice(open.indexOf(b), 1);
      const again = await factory({ clock });
      open.push(again);
      expect((await again.get(`${p}persist`))?.value).toBe('kept');
      expect(await again.currentRevision()).toBeGreaterThan(0);
    });
  });
}
