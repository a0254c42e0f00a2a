import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { PostgresBackend } from './postgres.ts';
import { SqliteBackend } from './sqlite.ts';
import type { Backend } from './types.ts';

export { PostgresBackend } from './postgres.ts';
export { SqliteBackend } from './sqlite.ts';
export type { Backend, Expectation, Item, ItemInput, RangeOptions, WatchEvent, WatchOptions } from './types.ts';

/** Storage settings as they appear in tp.yaml (`storage:`). */
export interface StorageConfig {
  type: 'sqlite' | 'postgres';
  /** PostgreSQL URL, or the SQLite file (default `<data_dir>/backend.sqlite`). */
  url?: string;
}

/** Opens the configured engine; SQLite lives in the data dir unless a path is given. */
export async function openBackend(config: StorageConfig, dataDir: string, clock?: Clock): Promise<Backend> {
  if (config.type === 'postgres') {
    if (!config.url) throw new TypeError('storage.url is required for postgres');
    return PostgresBackend.open({ url: config.url, clock });
  }
  return new SqliteBackend({ path: config.url ?? join(dataDir, 'backend.sqlite'), clock });
}
