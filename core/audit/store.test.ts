import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, postgresAvailable } from '../../test/helpers/postgres.ts';
import type { AuditEvent } from './events.ts';
import { PostgresAuditStore } from './postgresStore.ts';
import { SqliteAuditStore } from './sqliteStore.ts';
import type { AuditStore, RecordingMeta } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-audit-store-'));
const dbs: { drop(): Promise<void> }[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const d of dbs) await d.drop();
});

const event = (i: number, o: Partial<AuditEvent> = {}): AuditEvent => ({
  id: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z-${i}`,
  type: i % 3 === 0 ? 'user.login' : 'exec',
  code: 'T0000I',
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  cluster: 'c',
  success: true,
  user: i % 2 === 0 ? 'alice' : 'bob',
  session_id: `s${i % 4}`,
  ...o,
});

const meta = (sid: string, started: string): RecordingMeta => ({
  sessionId: sid,
  user: 'alice',
  login: 'root',
  serverId: 'h',
  serverName: 'n1',
  kind: 'shell',
  startedAt: started,
  status: 'complete',
  parts: 1,
  bytes: 10,
});

function conformance(engine: string, open: () => Promise<AuditStore>) {
  describe(`audit store: ${engine}`, () => {
    test('appends are idempotent by ID; search filters by time, type, user and session', async () => {
      await using s = await open();
      const events = Array.from({ length: 30 }, (_, i) => event(i));
      expect(await s.append(events)).toBe(30);
      expect(await s.append(events.slice(0, 10))).toBe(0);
      expect(await s.search({ type: 'user.login', user: 'alice' })).toHaveLength(5);
      expect((await s.search({ session: 's1' })).every((e) => e.session_id === 's1')).toBe(true);
      const window = await s.search({ since: Date.UTC(2026, 0, 1, 0, 0, 10), until: Date.UTC(2026, 0, 1, 0, 0, 19) });
      expect(window.map((e) => e.time)).toEqual(events.slice(10, 20).map((e) => e.time));
      expect(await s.search({ limit: 3 })).toHaveLength(3);
      const newest = await s.search({ limit: 3, order: 'newest' });
      expect(newest.map((e) => e.time)).toEqual(
        events
          .slice(27)
          .reverse()
          .map((e) => e.time),
      );
      expect((await s.search({ limit: 2 })).map((e) => e.time)).toEqual(events.slice(0, 2).map((e) => e.time));
    });

    test('export pages through everything in storage order', async () => {
      await using s = await open();
      await s.append(Array.from({ length: 25 }, (_, i) => event(i + 100, { id: `x-${i}-${engine}-export-0001` })));
      const first = await s.exportAfter(0, 10);
      const rest = await s.exportAfter(first.at(-1)!.cursor, 1000);
      const all = [...first, ...rest].filter((e) => e.id.startsWith('x-'));
      expect(all.map((e) => e.id)).toEqual(Array.from({ length: 25 }, (_, i) => `x-${i}-${engine}-export-0001`));
    });

    test('a batch larger than one INSERT is stored once, in order; known IDs in it are skipped', async () => {
      await using s = await open();
      const id = (i: number) => `b-${String(i).padStart(4, '0')}-${engine}-batch-0001`;
      const batch = Array.from({ length: 2500 }, (_, i) => event(i, { id: id(i) }));
      expect(await s.append(batch.slice(0, 10))).toBe(10);
      // The first 10 are known, and so is the repeat at the end: 2490 new.
      expect(await s.append([...batch, event(5, { id: id(5) })])).toBe(2490);
      expect(await s.append([])).toBe(0);
      const stored = (await s.exportAfter(0, 10_000)).filter((e) => e.id.startsWith('b-'));
      expect(stored.map((e) => e.id)).toEqual(batch.map((e) => e.id));
    });

    test('recordings: metadata upserts, and output search is case-insensitive substring match', async () => {
      await using s = await open();
      await s.putRecording(meta('11111111-1111-1111-1111-111111111111', '2026-01-01T00:00:00.000Z'));
      await s.putRecording({
        ...meta('11111111-1111-1111-1111-111111111111', '2026-01-01T00:00:00.000Z'),
        status: 'failed',
        error: 'x',
      });
      await s.putRecording(meta('22222222-2222-2222-2222-222222222222', '2026-01-02T00:00:00.000Z'));
      await s.putRecording({
        ...meta('33333333-3333-3333-3333-333333333333', '2026-01-03T00:00:00.000Z'),
        user: 'bob',
      });
      await s.putRecordingText('33333333-3333-3333-3333-333333333333', 'bob at Version 42 too');
      await s.putRecordingText('11111111-1111-1111-1111-111111111111', 'deploying Version 42 now');
      await s.putRecordingText('22222222-2222-2222-2222-222222222222', 'nothing here');
      expect((await s.getRecording('11111111-1111-1111-1111-111111111111'))?.status).toBe('failed');
      const sids = (list: RecordingMeta[]) => list.map((r) => r.sessionId.slice(0, 1));
      expect(sids(await s.listRecordings(10))).toEqual(['3', '2', '1']);
      expect(sids(await s.listRecordings(10, 'alice'))).toEqual(['2', '1']);
      expect(sids(await s.listRecordings(1, 'alice'))).toEqual(['2']);
      expect(sids(await s.listRecordings(10, 'carol'))).toEqual([]);
      expect(sids(await s.searchRecordings('version 42', 10))).toEqual(['3', '1']);
      expect(sids(await s.searchRecordings('version 42', 10, 'alice'))).toEqual(['1']);
      expect(sids(await s.searchRecordings('version 42', 10, 'bob'))).toEqual(['3']);
      expect(await s.searchRecordings('absent text', 10)).toEqual([]);
    });
  });
}

conformance('sqlite', async () => new SqliteAuditStore(join(dir, `audit-${Math.random()}.sqlite`)));
if (await postgresAvailable()) {
  conformance('postgres', async () => {
    const db = await freshDatabase();
    dbs.push(db);
    return PostgresAuditStore.open(db.url);
  });
}

describe('audit store: sqlite, one long session', () => {
  test("a session's first events are read off its index, not by sorting all of its events", async () => {
    // Auth reads a session's first events for every batch a node reports about it (who ran it); a database session
    // reports one event per statement, so on an index by session alone each read sorted them all (18 ms at 30,000)
    // and the agent's audit fell further behind the longer the session ran.
    const path = join(dir, 'long-session.sqlite');
    await using s = new SqliteAuditStore(path);
    const pad = 'x'.repeat(300);
    const events = Array.from({ length: 30_000 }, (_, i) =>
      event(i, { id: `long-${i}`, session_id: 'long', time: new Date(Date.UTC(2026, 0, 1) + i).toISOString(), pad }),
    );
    for (let i = 0; i < events.length; i += 1000) await s.append(events.slice(i, i + 1000));
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const first = await s.search({ session: 'long', limit: 20 });
      expect(first.map((e) => e.id)).toEqual(events.slice(0, 20).map((e) => e.id));
    }
    // Off the index: microseconds each; sorting 30,000 rows took 10-20 ms each here (so 200+ ms for 20).
    expect(performance.now() - started).toBeLessThan(100);
    // An audit database from before keeps its rows and loses the old index when opened again.
    await using again = new SqliteAuditStore(path);
    expect((await again.search({ session: 'long', limit: 1 }))[0]?.id).toBe('long-0');
  });
});
