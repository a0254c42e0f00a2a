import { afterAll } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendConformance } from './conformance.ts';
import { SqliteBackend } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

backendConformance(
  'sqlite',
  async ({ clock, keepEvents }) =>
    new SqliteBackend({ path: join(dir, 'backend.sqlite'), clock, keepEvents, sweepMs: 0, pollMs: 50 }),
);
