/** Reconnect delays: exponential from `baseMs` up to `maxMs`, with full jitter so a fleet never reconnects in step. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, maxMs: 30_000 };

/** The delay before reconnect attempt `attempt` (0-based): uniform in [cap/2, cap] where cap = min(max, base·2^attempt). */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt, 30));
  return cap / 2 + random() * (cap / 2);
}
