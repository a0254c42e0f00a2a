import { Database } from 'bun:sqlite';
import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../log.ts';
import type { AuditInput } from './events.ts';
import { EventSpool, WRITE_WINDOW_EVENTS } from './spool.ts';

const dirs: string[] = [];
const spoolPath = () => {
  const d = mkdtempSync(join(tmpdir(), 'tp-spool-'));
  dirs.push(d);
  return join(d, 'spool.db');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const query = (n: number): AuditInput => ({ type: 'db.query', user: 'ann', statement: `select ${n}` });
const down = async () => {
  throw new Error('auth is away');
};

describe('audit event spool', () => {
  test('pending counts what is on disk: kept while the receiver is away, across a restart, gone once acked', async () => {
    const path = spoolPath();
    const first = new EventSpool({ path, send: down });
    first.add([query(1), query(2)]);
    first.add([query(3)]);
    expect(first.pending).toBe(3);
    await first.close();
    const sent: AuditInput[] = [];
    const again = new EventSpool({ path, send: async (e) => void sent.push(...e) });
    expect(again.pending).toBe(3);
    await again.flush();
    expect(again.pending).toBe(0);
    expect(sent.map((e) => e.statement)).toEqual(['select 1', 'select 2', 'select 3']);
    await again.close();
  });

  test('an event added while close() waits for the last send is kept on disk, and no timer fires on the closed file', async () => {
    const path = spoolPath();
    let release: () => void = () => undefined;
    const sent: AuditInput[] = [];
    const spool = new EventSpool({
      path,
      send: (e) =>
        new Promise<void>((resolve) => {
          sent.push(...e);
          release = resolve;
        }),
    });
    spool.add([query(1)]);
    const closing = spool.close();
    spool.add([query(2)]); // during the last send: the spool is not closed yet
    release();
    await closing;
    await Bun.sleep(60); // past the 20 ms write window: its timer must not run on the closed database
    expect(sent.map((e) => e.statement)).toEqual(['select 1']);
    const again = new EventSpool({ path, send: down });
    expect(again.pending).toBe(1);
    await again.close();
  });

  test('beyond maxEvents the oldest are dropped and pending stays at the cap', async () => {
    const sent: AuditInput[] = [];
    let up = false;
    const spool = new EventSpool({
      path: spoolPath(),
      maxEvents: 3,
      send: async (e) => {
        if (!up) throw new Error('auth is away');
        sent.push(...e);
      },
    });
    for (let i = 1; i <= 5; i++) spool.add([query(i)]);
    expect(spool.pending).toBe(3);
    up = true;
    await spool.flush();
    expect(sent.map((e) => e.statement)).toEqual(['select 3', 'select 4', 'select 5']);
    expect(spool.pending).toBe(0);
    await spool.close();
  });

  test('one event at a time into a backlog stays cheap (adding used to count the whole table each time)', async () => {
    const spool = new EventSpool({ path: spoolPath(), send: down });
    const t0 = performance.now();
    for (let i = 0; i < 15_000; i++) spool.add([query(i)]);
    const ms = performance.now() - t0;
    expect(spool.pending).toBe(15_000);
    // Measured here: ~1 s now, ~8.5 s when every add counted the outbox (a backlog of n rows cost O(n) per add).
    expect(ms).toBeLessThan(6_000);
    await spool.close();
  }, 30_000);
});

/** Rows in a spool file's outbox, read beside the process that writes it; 0 before the writer made it. */
function onDisk(path: string): number {
  if (!existsSync(path)) return 0;
  const db = new Database(path, { readonly: true });
  try {
    // The writer holds a lock a moment while it switches the file to WAL.
    db.exec('PRAGMA busy_timeout = 2000');
    // The writer creates the file a moment before its table.
    if (!db.query("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").get()) return 0;
    return (db.query('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('audit event spool under load and failure', () => {
  const statements = (events: AuditInput[]) => events.map((e) => e.statement);
  const expected = (n: number) => Array.from({ length: n }, (_, i) => `select ${i}`);

  test('a burst of 10,000 events is delivered exactly once, in order, one request at a time', async () => {
    const sent: AuditInput[] = [];
    const sizes: number[] = [];
    let inFlight = 0;
    let most = 0;
    const spool = new EventSpool({
      path: spoolPath(),
      send: async (e) => {
        most = Math.max(most, ++inFlight);
        sizes.push(e.length);
        await Bun.sleep(5);
        sent.push(...e);
        inFlight--;
      },
    });
    for (let i = 0; i < 10_000; i++) {
      spool.add([query(i)]);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await spool.close();
    expect(statements(sent)).toEqual(expected(10_000));
    expect(new Set(sent.map((e) => e.id)).size).toBe(10_000);
    expect(most).toBe(1);
    // Batched: far fewer requests than events, none beyond what auth takes in one (1000).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    expect(sizes.length).toBeLessThan(500);
  }, 30_000);

  test('an auth outage keeps every event; they are delivered once, in order, when auth is back', async () => {
    const sent: AuditInput[] = [];
    let up = false;
    let refused = 0;
    const spool = new EventSpool({
      path: spoolPath(),
      intervalMs: 10,
      send: async (e) => {
        if (!up) {
          refused++;
          throw new Error('auth is away');
        }
        sent.push(...e);
      },
    });
    for (let i = 0; i < 3000; i++) {
      spool.add([query(i)]);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const t0 = Date.now();
    while (refused < 3 && Date.now() - t0 < 5000) await Bun.sleep(5);
    expect(refused).toBeGreaterThanOrEqual(3);
    expect(spool.pending).toBe(3000);
    expect(sent).toEqual([]);
    up = true;
    const t1 = Date.now();
    while (spool.pending > 0 && Date.now() - t1 < 10_000) await Bun.sleep(5);
    expect(spool.pending).toBe(0);
    expect(statements(sent)).toEqual(expected(3000));
    await spool.close();
  }, 30_000);

  test('a killed process loses at most the write window; events older than it survive', async () => {
    const path = spoolPath();
    const writer = join(import.meta.dir, '../../test/fixtures/spoolWriter.ts');
    // Killed right after its last add: only what was still in memory may be lost.
    const first = Bun.spawn([process.execPath, writer, path, '2000'], { stdout: 'pipe', stderr: 'ignore' });
    const reader = first.stdout.getReader();
    let out = '';
    while (!out.includes('added 2000')) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    first.kill('SIGKILL');
    await first.exited;
    const survived = onDisk(path);
    expect(survived).toBeGreaterThanOrEqual(2000 - WRITE_WINDOW_EVENTS);
    expect(survived).toBeLessThanOrEqual(2000);
    // What survived is the oldest, in order, with no gap.
    const kept = new EventSpool({ path, send: down });
    expect(kept.pending).toBe(survived);
    await kept.close();
    const sent: AuditInput[] = [];
    const again = new EventSpool({ path, send: async (e) => void sent.push(...e) });
    await again.flush();
    expect(statements(sent)).toEqual(expected(survived));
    await again.close();

    // Killed once the window has passed: nothing is lost, though the spool was never closed.
    const path2 = spoolPath();
    const second = Bun.spawn([process.execPath, writer, path2, '1000'], { stdout: 'pipe', stderr: 'ignore' });
    const t0 = Date.now();
    while (onDisk(path2) < 1000 && Date.now() - t0 < 15_000) await Bun.sleep(10);
    second.kill('SIGKILL');
    await second.exited;
    expect(onDisk(path2)).toBe(1000);
  }, 40_000);

  test('eviction beyond the cap is still reported with the number dropped', async () => {
    const warn = spyOn(log, 'warn');
    try {
      const spool = new EventSpool({ path: spoolPath(), maxEvents: 100, send: down });
      for (let i = 0; i < 150; i++) spool.add([query(i)]);
      expect(spool.pending).toBe(100);
      const dropped = warn.mock.calls
        .filter(([msg]) => msg === 'audit spool full: dropped the oldest events')
        .reduce((n, [, f]) => n + Number((f as { dropped: number }).dropped), 0);
      expect(dropped).toBe(50);
      await spool.close();
    } finally {
      warn.mockRestore();
    }
  });
});
