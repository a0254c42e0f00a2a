import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateDir, privateFiles, sqliteFiles } from './privateDir.ts';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('private data dirs', () => {
  test('a new dir is made 0700, an open one is tightened, a private one left alone', () => {
    const base = mkdtempSync(join(tmpdir(), 'tp-private-'));
    try {
      privateDir(join(base, 'new', 'deeper'), 'data dir');
      expect(mode(join(base, 'new', 'deeper'))).toBe('700');
      const open = join(base, 'open');
      mkdirSync(open);
      chmodSync(open, 0o755);
      privateDir(open, 'data dir');
      expect(mode(open)).toBe('700');
      writeFileSync(join(open, 'db.sqlite'), '');
      chmodSync(join(open, 'db.sqlite'), 0o644);
      privateFiles(sqliteFiles(join(open, 'db.sqlite')));
      expect(mode(join(open, 'db.sqlite'))).toBe('600');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('a dir that cannot be tightened is refused with what to do', () => {
    // /proc/self is 0555 and no chmod, not even root's, changes it.
    expect(() => privateDir('/proc/self', 'data dir')).toThrow(
      /the data dir \/proc\/self is open to other users \(mode 0555\) and cannot be made private .*chmod 700/,
    );
  });
});

test('a database file in a shared directory (as /tmp) leaves that directory as it was', async () => {
  const { EventSpool } = await import('../audit/spool.ts');
  const shared = mkdtempSync(join(tmpdir(), 'tp-shared-'));
  chmodSync(shared, 0o1777);
  const spool = new EventSpool({ path: join(shared, 'spool.sqlite'), send: async () => undefined });
  await spool.close();
  expect(statSync(shared).mode & 0o7777).toBe(0o1777);
  expect(statSync(join(shared, 'spool.sqlite')).mode & 0o077).toBe(0);
});
