import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../core/audit/events.ts';
import { PostgresAuditStore } from '../core/audit/postgresStore.ts';
import { SqliteAuditStore } from '../core/audit/sqliteStore.ts';
import type { AuditStore } from '../core/audit/store.ts';
import { freshDatabase, postgresAvailable } from './helpers/postgres.ts';

// The audit stores' user prefix: the web UI's user filter ("an" finds ann and anna, not dan), in both backends.
const dir = mkdtempSync(join(tmpdir(), 'tp-audit-prefix-'));
const pg = (await postgresAvailable()) ? await freshDatabase() : undefined;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
});

const event = (n: number, user: string): AuditEvent =>
  ({
    id: `e${n}`,
    type: 'user.login',
    code: 'T1000I',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    cluster: 'c',
    success: true,
    user,
  }) as AuditEvent;

const users = (evs: AuditEvent[]) => evs.map((e) => e.user);

async function check(store: AuditStore): Promise<void> {
  await store.append(['ann', 'anna', 'dan', 'an_x', 'Ann'].map((u, i) => event(i, u)));
  expect(users(await store.search({ userPrefix: 'an' }))).toEqual(['ann', 'anna', 'an_x']);
  // `_` and `%` are plain characters here, not patterns.
  expect(users(await store.search({ userPrefix: 'an_' }))).toEqual(['an_x']);
  expect(users(await store.search({ userPrefix: 'ann', order: 'newest' }))).toEqual(['anna', 'ann']);
  expect(users(await store.search({ userPrefix: 'zed' }))).toEqual([]);
}

describe('audit search by user prefix', () => {
  test('SQLite', async () => {
    const store = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    await check(store);
    await store[Symbol.asyncDispose]();
  });
  test.skipIf(!pg)('PostgreSQL', async () => {
    const store = await PostgresAuditStore.open(pg!.url);
    await check(store);
    await store.close();
  });
});
