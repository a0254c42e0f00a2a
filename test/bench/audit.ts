import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../core/audit/events.ts';
import { SqliteAuditStore } from '../../core/audit/sqliteStore.ts';
import type { Row } from './table.ts';

const TYPES = ['user.login', 'session.start', 'session.end', 'exec', 'cert.create', 'auth.attempt'];

/** Audit search on SQLite: 10,000 events, queried by type and user (target < 200 ms). */
export async function benchAudit(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-audit-'));
  const store = new SqliteAuditStore(join(dir, 'audit.sqlite'));
  try {
    const events: AuditEvent[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: `e-${i}`,
      type: TYPES[i % TYPES.length] as AuditEvent['type'],
      code: 'T0000I',
      time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      cluster: 'bench',
      success: true,
      user: `user${i % 50}`,
      session_id: `s${i % 500}`,
      server_name: `node${i % 100}`,
    }));
    const t0 = performance.now();
    await store.append(events);
    const appendMs = performance.now() - t0;
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      found = (await store.search({ type: 'exec', user: 'user3', limit: 10_000 })).length;
      times.push(performance.now() - t);
    }
    const all: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await store.search({ limit: 10_000 });
      all.push(performance.now() - t);
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    if (found === 0) throw new Error('benchmark query matched nothing');
    return [
      {
        figure: `audit search by type+user in 10k events (${found} hits), SQLite`,
        tp: med(times),
        unit: 'ms',
        higherIsBetter: false,
      },
      { figure: 'audit search returning all 10k events, SQLite', tp: med(all), unit: 'ms', higherIsBetter: false },
      {
        figure: 'audit append of 10k events (one batch), SQLite',
        tp: 10_000 / (appendMs / 1000),
        unit: '/s',
        higherIsBetter: true,
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
