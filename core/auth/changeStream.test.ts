import { afterAll, describe, expect, test } from 'bun:test';
import { freshDatabase, postgresAvailable } from '../../test/helpers/postgres.ts';
import type { Backend } from '../backend/index.ts';
import { PostgresBackend } from '../backend/postgres.ts';
import { SqliteBackend } from '../backend/sqlite.ts';
import { Compacted } from '../errors.ts';
import { makeCaKeys } from './cas.ts';
import { ChangeStream } from './changeStream.ts';

const role = (name: string) => ({ kind: 'role', version: 'v1', metadata: { name }, spec: { allow: {}, deny: {} } });

/** The same story on each engine: a snapshot, then only the changes after it, with no secret leaving auth. */
function changeStreamSuite(engine: string, open: () => Promise<Backend>): void {
  describe(`auth change stream: ${engine}`, () => {
    test('a snapshot at a revision, then the changes after it in order; secrets and unwatched keys stay out', async () => {
      const b = await open();
      const ca = { type: 'user', cluster: 'c', active: await makeCaKeys('user', 'c', Date.now()), additional: [] };
      await b.put({ key: '/cas/user', value: JSON.stringify(ca) });
      await b.put({ key: '/roles/dev', value: JSON.stringify(role('dev')) });
      const stream = await ChangeStream.open(b);
      try {
        const snap = await stream.snapshot();
        expect(snap.items.map((i) => `${i.kind}/${i.name}`).sort()).toEqual(['ca/user', 'role/dev']);
        expect(JSON.stringify(snap)).not.toContain('PRIVATE KEY');
        expect(stream.snapshots).toBe(1);

        const waiting = stream.changes(snap.revision, 10_000);
        await b.put({ key: '/users/eve', value: JSON.stringify({ name: 'eve', passwordHash: 'secret-hash' }) });
        await b.put({ key: '/locks/l1', value: JSON.stringify({ id: 'l1', target: { user: 'eve' }, message: 'm' }) });
        const first = await waiting;
        expect(first.events.map((e) => (e.op === 'put' ? `put ${e.item.kind}/${e.item.name}` : 'delete'))).toEqual([
          'put lock/l1',
        ]);
        await b.delete('/roles/dev');
        const next = await stream.changes(first.revision, 10_000);
        expect(next.events).toEqual([{ revision: next.revision, op: 'delete', kind: 'role', name: 'dev' }]);
        expect(JSON.stringify([first, next])).not.toContain('secret-hash');
        // Nothing new: the long poll answers empty once its wait is up, at the same revision.
        const idle = await stream.changes(next.revision, 50);
        expect(idle).toEqual({ revision: next.revision, events: [] });
        expect(stream.snapshots).toBe(1);
      } finally {
        await stream.close();
        await b.close();
      }
    });

    test('a reader from before the kept history is told to take a snapshot', async () => {
      const b = await open();
      await b.put({ key: '/roles/a', value: JSON.stringify(role('a')) });
      const stream = await ChangeStream.open(b, 0);
      try {
        const now = (await stream.snapshot()).revision;
        await expect(stream.changes(now - 1, 0)).rejects.toBeInstanceOf(Compacted);
      } finally {
        await stream.close();
        await b.close();
      }
    });

    test('a stream opened later (an auth restart) replays the recent log, so a reader resumes', async () => {
      const b = await open();
      const first = await ChangeStream.open(b);
      const at = (await first.snapshot()).revision;
      await first.close();
      await b.put({ key: '/roles/while-away', value: JSON.stringify(role('while-away')) });
      await b.put({ key: '/tokens/t', value: '{}' });
      const second = await ChangeStream.open(b);
      try {
        const batch = await second.changes(at, 10_000);
        expect(batch.events.map((e) => (e.op === 'put' ? e.item.name : e.name))).toEqual(['while-away']);
      } finally {
        await second.close();
        await b.close();
      }
    });
  });
}

changeStreamSuite('sqlite', async () => new SqliteBackend({ path: ':memory:' }));

if (await postgresAvailable()) {
  const dbs: Awaited<ReturnType<typeof freshDatabase>>[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });
  changeStreamSuite('postgres', async () => {
    const db = await freshDatabase();
    dbs.push(db);
    return PostgresBackend.open({ url: db.url, sweepMs: 0, pollMs: 200 });
  });
}
