import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresBackend } from '../core/backend/postgres.ts';
import { SqliteBackend } from '../core/backend/sqlite.ts';
import type { Backend } from '../core/backend/types.ts';
import { freshDatabase, postgresAvailable } from './helpers/postgres.ts';

const writer = join(import.meta.dir, 'helpers', 'crashWriter.ts');

/** Runs the writer until it has acknowledged `acks` writes, SIGKILLs it, and returns the highest acked index. */
async function writeThenKill(engine: string, target: string, prefix: string, acks: number): Promise<number> {
  const child = Bun.spawn([process.execPath, writer, engine, target, prefix], { stdout: 'pipe', stderr: 'inherit' });
  let last = -1;
  let buffered = '';
  const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) last = Number(line.slice(4));
    if (last >= acks) {
      child.kill('SIGKILL');
      break;
    }
  }
  clearTimeout(deadline);
  await child.exited;
  expect(child.signalCode).toBe('SIGKILL');
  return last;
}

async function assertAllAcked(b: Backend, prefix: string, last: number): Promise<void> {
  const items = await b.range(prefix);
  const byKey = new Map(items.map((i) => [i.key, i.value]));
  const missing: number[] = [];
  for (let i = 0; i <= last; i++) if (byKey.get(`${prefix}${i}`) !== `value-${i}`) missing.push(i);
  expect(missing).toEqual([]);
  await b.close();
}

describe('backend crash safety (kill -9 during writes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('sqlite keeps every acknowledged write', async () => {
    const path = join(dir, 'crash.sqlite');
    const last = await writeThenKill('sqlite', path, '/crash/', 300);
    expect(last).toBeGreaterThanOrEqual(300);
    await assertAllAcked(new SqliteBackend({ path, sweepMs: 0 }), '/crash/', last);
  });

  test('postgres keeps every acknowledged write', async () => {
    if (!(await postgresAvailable())) {
      console.error('!!! SKIPPED: postgres crash test (PostgreSQL not reachable)');
      return;
    }
    const db = await freshDatabase();
    try {
      const last = await writeThenKill('postgres', db.url, '/crash/', 300);
      await assertAllAcked(await PostgresBackend.open({ url: db.url, sweepMs: 0 }), '/crash/', last);
    } finally {
      await db.drop();
    }
  });
});
