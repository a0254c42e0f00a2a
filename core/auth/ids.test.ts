import { afterAll, expect, test } from 'bun:test';
import { SqliteBackend } from '../backend/sqlite.ts';
import { ManualClock } from '../clock.ts';
import type { IdSource } from '../ids.ts';
import { LockStore } from './locks.ts';
import { TokenStore } from './tokens.ts';
import { UserStore } from './users.ts';

const clock = new ManualClock();
const backend = new SqliteBackend({ path: ':memory:', clock, sweepMs: 0, pollMs: 50 });
afterAll(() => backend.close());

/** An id source that counts: byte n of every draw is the draw's number, so each ID says where it came from. */
function countingIds(): IdSource & { draws: number } {
  const ids = {
    draws: 0,
    uuid: () => `00000000-0000-4000-8000-${String(++ids.draws).padStart(12, '0')}`,
    bytes: (n: number) => Buffer.alloc(n, ++ids.draws),
  };
  return ids;
}

test('tokens, locks and sign-up links take their secrets and IDs from the id source they are given', async () => {
  const ids = countingIds();
  const { token } = await new TokenStore(backend, ids).create(['node'], 'single', clock.now(), 60_000);
  expect(token).toBe(Buffer.alloc(24, 1).toString('base64url'));
  const lock = await new LockStore(backend, ids).create({ user: 'amy' }, 'test', 'admin', clock.now());
  expect(lock.id).toBe(Buffer.alloc(8, 2).toString('hex'));
  const signup = await new UserStore(backend, ids).createSignupToken('amy', clock.now(), 60_000);
  expect(signup).toBe(Buffer.alloc(24, 3).toString('base64url'));
  expect(ids.draws).toBe(3);
});
