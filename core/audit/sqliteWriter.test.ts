import { Database } from 'bun:sqlite';
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Unavailable } from '../errors.ts';
import type { AuditEvent } from './events.ts';
import { SqliteAuditStore } from './sqliteStore.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-audit-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number): AuditEvent => ({
  id: `id-${i}`,
  type: 'exec',
  code: 'T0000I',
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
  cluster: 'c',
  success: true,
  user: 'alice',
  session_id: 's1',
});

describe('audit store: the writer thread', () => {
  test('appends made by the thread are read on the caller connection at once, and survive a reopen', async () => {
    const path = join(dir, 'a.sqlite');
    const s = new SqliteAuditStore(path);
    const sent = await Promise.all([0, 1, 2].map((b) => s.append([event(b * 2), event(b * 2 + 1)])));
    expect(sent).toEqual([2, 2, 2]);
    expect(await s.append([event(0), event(6)])).toBe(1); // a known ID is skipped
    expect((await s.search({ session: 's1' })).map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `id-${i}`));
    await s.close();
    await using again = new SqliteAuditStore(path);
    expect((await again.search({})).length).toBe(7);
  });

  test('close waits for appends still in the thread', async () => {
    const path = join(dir, 'b.sqlite');
    const s = new SqliteAuditStore(path);
    const pending = s.append(Array.from({ length: 5000 }, (_, i) => event(i)));
    await s.close();
    expect(await pending).toBe(5000);
    const db = new Database(path, { readonly: true });
    expect((db.query('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n).toBe(5000);
    db.close();
  });

  test('a write the file refuses fails as Unavailable with the reason, and the next write works again', async () => {
    const path = join(dir, 'c.sqlite');
    await using s = new SqliteAuditStore(path);
    expect(await s.append([event(0)])).toBe(1);
    const side = new Database(path);
    side.exec('ALTER TABLE audit_events RENAME TO moved');
    const err = await s.append([event(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Error).message).toContain('audit store write failed');
    side.exec('ALTER TABLE moved RENAME TO audit_events');
    side.close();
    expect(await s.append([event(2)])).toBe(1);
  });
});
