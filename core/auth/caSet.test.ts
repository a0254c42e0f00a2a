import { afterAll, expect, test } from 'bun:test';
import { SqliteBackend } from '../backend/sqlite.ts';
import { ManualClock } from '../clock.ts';
import { CaSet } from './caSet.ts';
import { caKey, ensureCas, makeCaKeys } from './cas.ts';

const clock = new ManualClock();
const backend = new SqliteBackend({ path: ':memory:', clock, sweepMs: 0, pollMs: 50 });
afterAll(() => backend.close());

test('a reload tells listeners only when a stored CA changed, and serves the new keys', async () => {
  const stored = await ensureCas(backend, 'c1', clock.now());
  const cas = new CaSet(backend, stored);
  let calls = 0;
  cas.onChange(() => calls++);
  await cas.reload();
  expect(calls).toBe(0);
  const before = cas.public('user').sshKeys;
  const next = {
    ...stored.user,
    active: await makeCaKeys('user', 'c1', clock.now()),
    additional: [stored.user.active],
  };
  await backend.put({ key: caKey('user'), value: JSON.stringify(next) });
  await cas.reload();
  expect(calls).toBe(1);
  expect(cas.current('user').stored).toEqual(next);
  expect(cas.public('user').sshKeys).toEqual([next.active.ssh!.pub, ...before]);
  expect(cas.current('host').stored).toEqual(stored.host);
});
