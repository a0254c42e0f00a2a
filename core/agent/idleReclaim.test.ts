import { expect, test } from 'bun:test';
import { IdleReclaim } from './idleReclaim.ts';

const MAPS = '00400000-00500000 r-xp 00000000 fe:00 1234   /opt/tp/tp-linux-x64';

/** A reclaimer on a fake map and madvise that counts its calls; `busy` says whether a stream is open. */
function reclaimer(busy: { open: boolean }, refuse = false) {
  const calls: number[] = [];
  const r = new IdleReclaim({
    busy: () => busy.open,
    settleMs: 10,
    repeatMs: 30,
    maps: () => MAPS,
    madvise: async () => () => {
      calls.push(Date.now());
      return refuse ? -1 : 0;
    },
  });
  return { r, calls };
}

test('an idle agent gives its code pages back after the settle wait and again at each repeat', async () => {
  const { r, calls } = reclaimer({ open: false });
  r.settle();
  await Bun.sleep(150);
  r.close();
  // 10 ms, then every 30 ms: at least the first pass and two repeats in 150 ms, and none after close.
  expect(r.passes).toBeGreaterThanOrEqual(3);
  const n = calls.length;
  await Bun.sleep(80);
  expect(calls.length).toBe(n);
});

test('no pass runs while a stream is open; the repeats stop until the stream closes and settles again', async () => {
  const busy = { open: false };
  const { r } = reclaimer(busy);
  r.settle();
  await Bun.sleep(20);
  expect(r.passes).toBe(1);
  busy.open = true;
  await Bun.sleep(100);
  expect(r.passes).toBe(1);
  busy.open = false;
  await Bun.sleep(100);
  expect(r.passes).toBe(1);
  r.settle();
  await Bun.sleep(20);
  expect(r.passes).toBe(2);
  r.close();
});

test('a kernel that refuses MADV_PAGEOUT stops the passes for good', async () => {
  const { r, calls } = reclaimer({ open: false }, true);
  r.settle();
  await Bun.sleep(100);
  expect(r.passes).toBe(0);
  expect(calls.length).toBe(1);
  r.settle();
  await Bun.sleep(50);
  expect(calls.length).toBe(1);
  r.close();
});
