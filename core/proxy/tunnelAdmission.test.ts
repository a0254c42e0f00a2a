import { describe, expect, test } from 'bun:test';
import { loopbackPair } from '../../test/helpers/loopbackPair.ts';
import { MuxSession } from '../tunnel/mux.ts';
import { encodeFrame, GOAWAY_BUSY, T_GOAWAY } from '../tunnel/muxFrame.ts';
import { TunnelAdmission } from './tunnelAdmission.ts';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('tunnel admission: a reconnect storm is spread out, not taken at once', () => {
  test('admits up to the rate per second, then books the rest into later slots at that rate', () => {
    const clock = manualClock();
    const a = new TunnelAdmission({ perSecond: 4, clock, random: () => 0.5 });
    try {
      expect([a.admit(), a.admit(), a.admit(), a.admit()].every((x) => x.ok)).toBe(true);
      const waits = Array.from({ length: 8 }, () => a.admit()).map((x) => (x.ok ? -1 : x.retryAfterMs));
      // One slot is 250 ms at 4/s: the deferred ones come back one slot apart, from the next window on.
      expect(waits).toEqual([1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000]);
      expect(a.deferredTotal).toBe(8);
      clock.advance(1000);
      expect(a.admit().ok).toBe(true); // a new second, a new budget
    } finally {
      a.close();
    }
  });

  test('a lagging proxy still admits a quarter of its rate (deferring all would keep it lagging)', async () => {
    const clock = manualClock();
    const a = new TunnelAdmission({ perSecond: 8, maxLagMs: 5, clock, random: () => 0.5 });
    try {
      // Block the event loop past the lag threshold, then let the sampler see it.
      const until = performance.now() + 150;
      while (performance.now() < until);
      await Bun.sleep(120);
      const answers = Array.from({ length: 8 }, () => a.admit());
      expect(answers.filter((x) => x.ok).length).toBe(2);
      // The deferred are booked at the reduced rate: 500 ms apart.
      const waits = answers.filter((x) => !x.ok).map((x) => (x.ok ? 0 : x.retryAfterMs));
      expect(waits.slice(0, 2)).toEqual([1500, 2000]);
    } finally {
      a.close();
    }
  });

  test('the waits are jittered by ±10 % and capped', () => {
    const clock = manualClock();
    const lo = new TunnelAdmission({ perSecond: 1, clock, random: () => 0, maxRetryMs: 5000 });
    const hi = new TunnelAdmission({ perSecond: 1, clock, random: () => 0.999_999 });
    try {
      lo.admit();
      hi.admit();
      expect(lo.admit()).toEqual({ ok: false, retryAfterMs: 1800 }); // 2000 ms × 0.9
      expect(hi.admit()).toEqual({ ok: false, retryAfterMs: 2200 }); // 2000 ms × 1.1
      for (let i = 0; i < 20; i++) lo.admit();
      expect(lo.admit()).toEqual({ ok: false, retryAfterMs: 5000 });
    } finally {
      lo.close();
      hi.close();
    }
  });

  test('a busy go-away tells the mux client when to come back, and it never counts as answered', async () => {
    const { c, s } = await loopbackPair();
    const client = new MuxSession(c, { side: 'client', keepaliveMs: 0 });
    const answered = client.answered();
    s.end(encodeFrame(T_GOAWAY, 0, 4321, GOAWAY_BUSY));
    expect(await answered).toBe(false);
    expect(client.retryAfterMs).toBe(4321);
    expect(client.isClosed).toBe(true);
  });

  test('an admitted tunnel answers the first ping', async () => {
    const { c, s } = await loopbackPair();
    const client = new MuxSession(c, { side: 'client', keepaliveMs: 0 });
    const listener = new MuxSession(s, { side: 'server', keepaliveMs: 0 });
    expect(await client.answered()).toBe(true);
    expect(client.retryAfterMs).toBeUndefined();
    client.close();
    listener.close();
  });
});
