import { expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSpooled } from '../audit/recording.ts';
import { migrateLegacySpool } from './spoolMigration.ts';

test('an old shared directory: pending sessions move to the spool, stored recordings stay untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-spoolmig-'));
  try {
    const legacy = join(dir, 'recordings');
    const spool = join(dir, 'spool', 'recordings');
    // A recording already stored (the store's part files) ...
    mkdirSync(join(legacy, 'stored'), { recursive: true });
    writeFileSync(join(legacy, 'stored', '000001.jsonl'), '[0,"o","kept"]\n');
    // ... one half uploaded (part 1 stored, part 2 still spooled) ...
    mkdirSync(join(legacy, 'half'));
    writeFileSync(join(legacy, 'half', '000001.jsonl'), '[0,"o","one"]\n');
    writeFileSync(join(legacy, 'half', 'part-000002.jsonl'), '[1,"o","two"]\n');
    const meta = { sessionId: 'half', startedAt: '2026-01-01T00:00:00Z', status: 'complete', parts: 2 };
    writeFileSync(join(legacy, 'half', 'meta.json'), JSON.stringify(meta));
    // ... and one that failed for good.
    mkdirSync(join(legacy, 'bad'));
    writeFileSync(join(legacy, 'bad', 'meta.json'), JSON.stringify({ ...meta, sessionId: 'bad' }));
    writeFileSync(join(legacy, 'bad', 'failed'), 'store down');

    expect(migrateLegacySpool(legacy, spool)).toBe(2);
    expect(readFileSync(join(legacy, 'stored', '000001.jsonl'), 'utf8')).toBe('[0,"o","kept"]\n');
    expect(readFileSync(join(legacy, 'half', '000001.jsonl'), 'utf8')).toBe('[0,"o","one"]\n');
    expect(existsSync(join(legacy, 'half', 'meta.json'))).toBe(false);
    expect(existsSync(join(legacy, 'bad'))).toBe(false);
    const pending = listSpooled(spool);
    expect(pending.map((s) => [s.meta.sessionId, s.parts]).sort()).toEqual([
      ['bad', []],
      ['half', [2]],
    ]);
    expect(existsSync(join(spool, 'bad', 'failed'))).toBe(true);
    // A second start finds nothing more to move.
    expect(migrateLegacySpool(legacy, spool)).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
