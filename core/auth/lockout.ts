import type { AuditInput } from '../audit/events.ts';
import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { Locked, NotFound } from '../errors.ts';
import type { LockStore } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { StoredUser, UserStore } from './users.ts';

/** Who created the lock that stops a locked-out user's certificates (`tp locks ls` shows it). */
export const LOCKOUT_LOCK_OWNER = 'auth:lockout';

// Names nobody has are locked out too, under their own key, so the answer never tells which names exist.
const unknownKey = (name: string) => `/login_lockouts/${name}`;

/** What the lockout needs of the auth service. */
export interface LockoutDeps {
  backend: Backend;
  clock: Clock;
  guard: LoginGuard;
  users: UserStore;
  locks: LockStore;
  emit(e: AuditInput): Promise<unknown>;
}

/**
 * Failed proofs of identity (logins, and the re-authentication the account page asks for) counted on one counter
 * per user name. At the threshold the name is locked out for the policy's time: a real user's record says so and a
 * lock stops the certificates it already holds; a name nobody has gets the same answer.
 */
export class Lockout {
  constructor(private readonly d: LockoutDeps) {}

  /** Throws Locked while `name` is locked out; the message is the same whether or not the user exists. */
  async check(name: string, user: StoredUser | undefined, now: number): Promise<void> {
    const until = user ? user.lockedUntil : Number((await this.d.backend.get(unknownKey(name)))?.value ?? 0);
    if (until && until > now) throw lockedOut(name, until);
  }

  /** Counts one failure against `name`; returns the time the lockout ends when this failure started one. */
  async countFailure(name: string, user: StoredUser | undefined, now: number): Promise<number | undefined> {
    if (!(await this.d.guard.recordFailure(name))) return undefined;
    const until = now + this.d.guard.policy.lockoutMs;
    await this.d.guard.clear(name);
    if (!user) {
      await this.d.backend.put({ key: unknownKey(name), value: String(until), expires: until });
      return until;
    }
    // Of concurrent failures past the threshold, one starts the lockout (and makes the lock); the others see it.
    const started = await this.d.users.updateUnless<'already'>(name, (u) =>
      u.lockedUntil && u.lockedUntil > now ? 'already' : { ...u, lockedUntil: until },
    );
    if (started === 'already') return (await this.d.users.find(name))?.lockedUntil;
    const lock = await this.d.locks.create(
      { user: name },
      `too many failed sign-ins; locked out until ${new Date(until).toISOString()}`,
      LOCKOUT_LOCK_OWNER,
      now,
      until - now,
    );
    await this.d.emit({ type: 'user.locked_out', user: name, until: new Date(until).toISOString(), lock_id: lock.id });
    return until;
  }

  /** Ends a user's lockout (an admin reset): the failures, the record's lockout and the lockout's locks. */
  async clear(name: string): Promise<void> {
    await this.d.guard.clear(name);
    for (const l of await this.d.locks.list()) {
      if (l.target.user !== name || l.createdBy !== LOCKOUT_LOCK_OWNER) continue;
      await this.d.locks.remove(l.id).catch((err: unknown) => {
        if (!(err instanceof NotFound)) throw err; // expired meanwhile
      });
    }
  }
}

/** The refusal for a locked-out name (the web UI recognises its code). */
export function lockedOut(name: string, until: number): Locked {
  return new Locked(`account "${name}" is locked until ${new Date(until).toISOString()} after too many failed logins`);
}
