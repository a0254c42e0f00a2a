import { afterAll, expect, test } from 'bun:test';
import type { AuditInput } from '../audit/events.ts';
import { SqliteBackend } from '../backend/sqlite.ts';
import { ManualClock } from '../clock.ts';
import { Locked } from '../errors.ts';
import { Lockout } from './lockout.ts';
import { LockStore } from './locks.ts';
import { DEFAULT_LOCKOUT, LoginGuard } from './login.ts';
import { UserStore } from './users.ts';

const clock = new ManualClock(Date.now());
const backend = new SqliteBackend({ path: ':memory:', clock, sweepMs: 0, pollMs: 50 });
afterAll(() => backend.close());
const users = new UserStore(backend);
const locks = new LockStore(backend);
const events: AuditInput[] = [];
const lockout = new Lockout({
  backend,
  clock,
  guard: new LoginGuard(backend, clock),
  users,
  locks,
  emit: async (e) => events.push(e),
});

test('failures past the threshold at once start one lockout: one lock, one event, one end time', async () => {
  await users.create({ name: 'cat', roles: ['access'], traits: {}, createdAt: new Date(clock.now()).toISOString() });
  const cat = await users.get('cat');
  for (let i = 1; i < DEFAULT_LOCKOUT.maxFailures; i++)
    expect(await lockout.countFailure('cat', cat, clock.now())).toBeUndefined();
  const ends = await Promise.all(Array.from({ length: 6 }, () => lockout.countFailure('cat', cat, clock.now())));
  const until = clock.now() + DEFAULT_LOCKOUT.lockoutMs;
  expect(ends.filter((e) => e !== undefined).every((e) => e === until)).toBe(true);
  expect((await locks.list()).filter((l) => l.target.user === 'cat')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'user.locked_out')).toHaveLength(1);
  await expect(lockout.check('cat', await users.get('cat'), clock.now())).rejects.toBeInstanceOf(Locked);
  clock.advance(DEFAULT_LOCKOUT.lockoutMs + 1);
  await lockout.check('cat', await users.get('cat'), clock.now());
  expect(await locks.list()).toHaveLength(0);
});

test('a name nobody has is locked out with the same message, and "nobody/x" never counts against "nobody"', async () => {
  for (let i = 0; i < DEFAULT_LOCKOUT.maxFailures; i++) await lockout.countFailure('nobody/x', undefined, clock.now());
  const err = await lockout.check('nobody/x', undefined, clock.now()).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Locked);
  expect((err as Error).message).toMatch(/^account "nobody\/x" is locked until \S+ after too many failed logins$/);
  await lockout.check('nobody', undefined, clock.now());
  expect(await backend.range('/login_attempts/nobody/')).toHaveLength(0);
});
