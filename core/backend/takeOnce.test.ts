import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend } from './sqlite.ts';
import { takeOnce } from './takeOnce.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-take-'));
const b = new SqliteBackend({ path: join(dir, 'b.sqlite'), sweepMs: 0, pollMs: 50 });
afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an item is taken once: then it is missing, and a caller that lost the race is told it was taken', async () => {
  await b.put({ key: '/once/a', value: 'v' });
  expect(await takeOnce(b, '/once/a')).toMatchObject({ key: '/once/a', value: 'v' });
  expect(await takeOnce(b, '/once/a')).toBe('missing');
  await b.put({ key: '/once/b', value: 'v' });
  // Another caller deletes it between this caller's read and delete.
  const racing = Object.create(b) as SqliteBackend;
  racing.get = async (key) => {
    const item = await b.get(key);
    await b.delete(key);
    return item;
  };
  expect(await takeOnce(racing, '/once/b')).toBe('taken');
});
