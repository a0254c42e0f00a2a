import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, openBackend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import { caKey, caKeysId, ensureCas, type StoredCa } from './cas.ts';
import { caForPhase, type RotationState, RotationStore, STANDBY } from './rotation.ts';

let dir: string;
let b: Backend;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-rot-'));
  b = await openBackend({ type: 'sqlite' }, dir);
  await ensureCas(b, 'c', Date.now());
});
afterEach(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

const ca = async (t: 'user' | 'host' | 'tls') => (await getDoc<StoredCa>(b, caKey(t)))!.value;
const state = (phase: RotationState['phase'], extra: Partial<RotationState> = {}): RotationState => ({
  ...STANDBY,
  id: 'r1',
  phase,
  types: ['user', 'tls'],
  ...extra,
});

describe('CA keys per rotation phase', () => {
  test('init trusts a new key without signing with it; update phases sign with it; standby keeps only it', async () => {
    const store = new RotationStore(b);
    const old = caKeysId((await ca('user')).active);
    const hostBefore = await ca('host');
    expect(await store.applyToCas(state('init'), Date.now())).toBe(true);
    const init = await ca('user');
    expect(caKeysId(init.active)).toBe(old);
    expect(init.additional).toHaveLength(1);
    const next = caKeysId(init.additional[0]!);
    expect(next).not.toBe(old);
    // Applying the same state again changes nothing (every auth server runs it).
    expect(await store.applyToCas(state('init'), Date.now())).toBe(false);
    expect(await ca('host')).toEqual(hostBefore); // not part of this rotation

    await store.applyToCas(state('update_clients'), Date.now());
    expect(caKeysId((await ca('user')).active)).toBe(next);
    expect((await ca('user')).additional.map(caKeysId)).toEqual([old]);
    await store.applyToCas(state('standby', { last: { id: 'r1', result: 'completed', at: 1, types: [] } }), Date.now());
    const done = await ca('user');
    expect([caKeysId(done.active), done.additional, done.rotating]).toEqual([next, [], undefined]);
    expect((await ca('tls')).additional).toEqual([]);
  });

  test('a rollback ends on the old key, and the new key is gone', async () => {
    const store = new RotationStore(b);
    const old = caKeysId((await ca('tls')).active);
    await store.applyToCas(state('update_servers'), Date.now());
    expect(caKeysId((await ca('tls')).active)).not.toBe(old);
    await store.applyToCas(state('rollback'), Date.now());
    expect(caKeysId((await ca('tls')).active)).toBe(old);
    expect((await ca('tls')).additional).toHaveLength(1);
    await store.applyToCas(
      state('standby', { last: { id: 'r1', result: 'rolled_back', at: 1, types: [] } }),
      Date.now(),
    );
    expect([caKeysId((await ca('tls')).active), (await ca('tls')).additional]).toEqual([old, []]);
  });

  test('two auth servers applying a start at once agree on one new key', async () => {
    const store = new RotationStore(b);
    await Promise.all([store.applyToCas(state('init'), Date.now()), store.applyToCas(state('init'), Date.now())]);
    const a = await ca('user');
    expect(a.additional).toHaveLength(1);
    expect(caKeysId(a.additional[0]!)).toBe(caKeysId(a.rotating!.next));
  });

  test('the state changes only from the revision it was read at', async () => {
    const store = new RotationStore(b);
    const first = await store.get();
    await store.swap(first.revision, state('init'));
    await expect(store.swap(first.revision, state('init', { id: 'r2' }))).rejects.toThrow('changed meanwhile');
    const now = await store.get();
    await expect(store.swap(now.revision - 1, state('update_clients'))).rejects.toThrow();
    expect((await store.get()).state.id).toBe('r1');
  });

  test('caForPhase leaves a CA without a rotation alone', () => {
    const c: StoredCa = { type: 'user', cluster: 'c', active: { ssh: { pub: 'a', priv: 'b' } }, additional: [] };
    expect(caForPhase(c, 'update_clients', 'next')).toBe(c);
  });
});
