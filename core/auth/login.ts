import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { LimitExceeded, NotFound } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';

/** Lockout policy: `maxFailures` failed logins within `windowMs` lock the account for `lockoutMs`. */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Attempts per user name per minute before callers get LimitExceeded (in-memory, per auth server). */
  perMinute: number;
}

// Any text may be tried as a user name: encoded, "alice/x" never counts against "alice".
const attemptsPrefix = (user: string) => `/login_attempts/${encodeURIComponent(user)}/`;

export const DEFAULT_LOCKOUT: LockoutPolicy = {
  maxFailures: 5,
  windowMs: 30 * 60_000,
  lockoutMs: 30 * 60_000,
  perMinute: 20,
};

/**
 * Counts failed logins durably (so every auth server of an HA cluster sees them) and rate-limits attempts
 * per user name in memory.
 */
export class LoginGuard {
  private recent = new Map<string, number[]>();

  constructor(
    private readonly b: Backend,
    private readonly clock: Clock,
    readonly policy: LockoutPolicy = DEFAULT_LOCKOUT,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** Throws LimitExceeded when `user` tried too often in the last minute; otherwise counts this attempt. */
  rateLimit(user: string): void {
    const now = this.clock.now();
    const times = (this.recent.get(user) ?? []).filter((t) => t > now - 60_000);
    if (times.length >= this.policy.perMinute) {
      const wait = Math.ceil((times[0]! + 60_000 - now) / 1000);
      throw new LimitExceeded(`too many login attempts for "${user}"; try again in ${wait}s`);
    }
    times.push(now);
    this.recent.set(user, times);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
  }

  /** Records a failure; returns true when this failure reaches the lockout threshold. */
  async recordFailure(user: string): Promise<boolean> {
    const now = this.clock.now();
    await this.b.put({
      key: `${attemptsPrefix(user)}${now}-${this.ids.bytes(4).toString('hex')}`,
      value: '1',
      expires: now + this.policy.windowMs,
    });
    const failures = await this.b.range(attemptsPrefix(user));
    return failures.length >= this.policy.maxFailures;
  }

  /** Forgets a user's failures (after a success or a lockout). */
  async clear(user: string): Promise<void> {
    for (const item of await this.b.range(attemptsPrefix(user))) {
      await this.b.delete(item.key).catch((err: unknown) => {
        if (!(err instanceof NotFound)) throw err; // already expired or cleared by another auth server
      });
    }
  }
}
