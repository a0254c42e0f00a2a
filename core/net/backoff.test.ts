import { describe, expect, test } from 'bun:test';
import { backoffDelay } from './backoff.ts';

describe('reconnect backoff', () => {
  test('grows exponentially to the cap, always within [cap/2, cap]', () => {
    const b = { baseMs: 100, maxMs: 5000 };
    expect(backoffDelay(b, 0, () => 0)).toBe(50);
    expect(backoffDelay(b, 0, () => 1)).toBe(100);
    expect(backoffDelay(b, 3, () => 1)).toBe(800);
    expect(backoffDelay(b, 20, () => 0.5)).toBe(3750);
    expect(backoffDelay(b, 1000, () => 1)).toBe(5000);
  });

  test('jitter spreads a fleet: 1000 agents at the same attempt get many distinct delays', () => {
    const delays = Array.from({ length: 1000 }, () => Math.round(backoffDelay({ baseMs: 500, maxMs: 30_000 }, 6)));
    expect(new Set(delays).size).toBeGreaterThan(500);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(15_000);
  });
});
