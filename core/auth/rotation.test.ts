import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { type Backend, openBackend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import { jwksOf, signAppToken } from '../crypto/jwt.ts';
import { type CaType, caKey, caKeysId, ensureCas, publicCa, type StoredCa, StoredCaSchema } from './cas.ts';
import { caForPhase, parseRotationTypes, type RotationState, RotationStore, STANDBY } from './rotation.ts';

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

const ca = async (t: CaType) => (await getDoc(b, caKey(t), StoredCaSchema))!.value;
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

  test('the database CAs rotate like the others, and during the rotation both keys are exported', async () => {
    const store = new RotationStore(b);
    const db = state('init', { types: ['db', 'db_client'] });
    const before = { db: await ca('db'), client: await ca('db_client'), tls: await ca('tls') };
    await store.applyToCas(db, Date.now());
    const init = await ca('db_client');
    expect(caKeysId(init.active)).toBe(caKeysId(before.client.active));
    const next = caKeysId(init.additional[0]!);
    // What `tp ca export --type db_client` hands a database in init: the old CA and the new one.
    expect(publicCa(init).tlsCerts).toEqual([caKeysId(before.client.active), next]);
    await store.applyToCas({ ...db, phase: 'update_clients' }, Date.now());
    expect(caKeysId((await ca('db_client')).active)).toBe(next);
    expect(publicCa(await ca('db')).tlsCerts).toHaveLength(2);
    await store.applyToCas({ ...db, phase: 'standby', last: { id: 'r1', result: 'completed', at: 1, types: [] } }, 1);
    expect(publicCa(await ca('db_client')).tlsCerts).toEqual([next]);
    expect(caKeysId((await ca('db')).active)).not.toBe(caKeysId(before.db.active));
    expect(await ca('tls')).toEqual(before.tls);
  });

  test('the JWT CA rotates like the others: its JWKS lists both keys during the rotation, only the new one after', async () => {
    const store = new RotationStore(b);
    const jwt = state('init', { types: ['jwt'] });
    const before = await ca('jwt');
    const kids = async () => (await jwksOf(publicCa(await ca('jwt')).tlsCerts)).keys.map((k) => k.kid);
    const [oldKid] = await kids();
    const claims = { issuer: 'c', audience: 'http://app', username: 'u', roles: [], traits: {} };
    const token = async () => {
      const now = Date.now();
      return signAppToken((await ca('jwt')).active.tls!, { ...claims, issuedAt: now, expires: now + 60_000 });
    };
    const verifies = async (t: string) => {
      const jwks = createLocalJWKSet(await jwksOf(publicCa(await ca('jwt')).tlsCerts));
      return jwtVerify(t, jwks, { issuer: 'c', audience: 'http://app' }).then(
        () => true,
        () => false,
      );
    };
    const fromOld = await token();
    await store.applyToCas(jwt, Date.now());
    expect(await kids()).toHaveLength(2);
    expect((await kids())[0]).toBe(oldKid);
    await store.applyToCas({ ...jwt, phase: 'update_clients' }, Date.now());
    const [newKid, stillOld] = await kids();
    expect([newKid !== oldKid, stillOld]).toEqual([true, oldKid]);
    const fromNew = await token();
    expect([await verifies(fromOld), await verifies(fromNew)]).toEqual([true, true]);
    await store.applyToCas({ ...jwt, phase: 'standby', last: { id: 'r1', result: 'completed', at: 1, types: [] } }, 1);
    expect(await kids()).toEqual([newKid]);
    expect([await verifies(fromOld), await verifies(fromNew)]).toEqual([false, true]);
    expect(caKeysId((await ca('jwt')).active)).not.toBe(caKeysId(before.active));
  });

  test('--type names each CA, and all means every one of them', () => {
    expect(parseRotationTypes('db')).toEqual(['db']);
    expect(parseRotationTypes('db_client')).toEqual(['db_client']);
    expect(parseRotationTypes('jwt')).toEqual(['jwt']);
    expect(parseRotationTypes('all')).toEqual(['user', 'host', 'tls', 'db', 'db_client', 'jwt']);
    expect(() => parseRotationTypes('app')).toThrow('use user, host, tls, db, db_client, jwt or all');
  });

  test('caForPhase leaves a CA without a rotation alone', () => {
    const c: StoredCa = { type: 'user', cluster: 'c', active: { ssh: { pub: 'a', priv: 'b' } }, additional: [] };
    expect(caForPhase(c, 'update_clients', 'next')).toBe(c);
  });
});
