import { describe, expect, test } from 'bun:test';
import { Compacted, Unavailable } from '../errors.ts';
import type { StateBatch, StateSnapshot } from './items.ts';
import { Replica, type StateSource } from './replica.ts';

/** A scripted source: each call takes the next answer (or error) from its list. */
function scripted(snapshots: StateSnapshot[], batches: (StateBatch | Error)[]) {
  const calls: string[] = [];
  const source: StateSource = {
    snapshot: async () => {
      calls.push('snapshot');
      const s = snapshots.shift();
      if (!s) throw new Unavailable('no more snapshots');
      return s;
    },
    changes: async (after, _wait, signal) => {
      calls.push(`changes>${after}`);
      const b = batches.shift();
      if (b instanceof Error) throw b;
      if (b) return b;
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      throw new Unavailable('closed');
    },
  };
  return { source, calls };
}

const role = (name: string) => ({ kind: 'role' as const, name, value: { metadata: { name } } });

describe('Replica', () => {
  test('one snapshot, then deltas; a gap (Compacted) means a fresh snapshot; an outage means a resume', async () => {
    const { source, calls } = scripted(
      [
        { revision: 5, items: [role('a')] },
        { revision: 20, items: [role('c')] },
      ],
      [
        { revision: 7, events: [{ revision: 6, op: 'put', item: role('b') }] },
        new Unavailable('auth restarting'),
        { revision: 8, events: [{ revision: 8, op: 'delete', kind: 'role', name: 'a' }] },
        new Compacted('too old'),
      ],
    );
    const r = new Replica(source, { backoff: { baseMs: 1, maxMs: 2 } });
    const seen: string[][] = [];
    r.onChange(() =>
      seen.push(
        r
          .list<{ metadata: { name: string } }>('role')
          .map((x) => x.metadata.name)
          .sort(),
      ),
    );
    r.start();
    expect(await r.waitForRevision(20, 5_000)).toBe(true);
    expect(seen).toEqual([['a'], ['a', 'b'], ['b'], ['c']]);
    for (let i = 0; i < 500 && calls.length < 7; i++) await Bun.sleep(2);
    expect(calls).toEqual(['snapshot', 'changes>5', 'changes>7', 'changes>7', 'changes>8', 'snapshot', 'changes>20']);
    // The downstream feed follows: readers from before the fresh snapshot must take one too.
    await expect(r.feed.since(8, { waitMs: 0 })).rejects.toBeInstanceOf(Compacted);
    await r.close();
  });

  test('before the first snapshot, readers get the reason it failed', async () => {
    const { source } = scripted([], []);
    const r = new Replica(source);
    await expect(r.ready()).rejects.toThrow('no more snapshots');
    await r.close();
  });
});
