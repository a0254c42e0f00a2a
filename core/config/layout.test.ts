import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadParameter } from '../errors.ts';
import { checkLayout, dataLayout } from './layout.ts';

test('the spool and the default store are separate directories of the data dir', () => {
  const l = dataLayout('/srv/tp');
  expect(l.recordingSpool).toBe('/srv/tp/spool/recordings');
  expect(l.recordingsStore).toBe('/srv/tp/recordings');
  expect(() => checkLayout(l)).not.toThrow();
  expect(dataLayout('/srv/tp', { type: 'fs', path: '/data/rec' }).recordingsStore).toBe('/data/rec');
  expect(
    dataLayout('/srv/tp', {
      type: 's3',
      endpoint: 'e',
      bucket: 'b',
      region: 'r',
      access_key_id: 'a',
      secret_access_key: 's',
    }).recordingsStore,
  ).toBeUndefined();
});

test('a store that contains the spool, or lies inside it, is refused naming both', () => {
  for (const path of ['/srv/tp', '/srv/tp/spool', '/srv/tp/spool/recordings', '/srv/tp/spool/recordings/x']) {
    const l = dataLayout('/srv/tp', { type: 'fs', path });
    expect(() => checkLayout(l)).toThrow(BadParameter);
    expect(() => checkLayout(l)).toThrow(`the recordings store (${path}) and the node's recording spool`);
  }
  expect(() => checkLayout(dataLayout('/srv/tp', { type: 'fs', path: '/srv/tp/spoolish' }))).not.toThrow();
});

test('a symlink to the spool is seen through', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-layout-'));
  try {
    mkdirSync(join(dir, 'spool', 'recordings'), { recursive: true });
    symlinkSync(join(dir, 'spool', 'recordings'), join(dir, 'alias'));
    expect(() => checkLayout(dataLayout(dir, { type: 'fs', path: join(dir, 'alias') }))).toThrow(BadParameter);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
