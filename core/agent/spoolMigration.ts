import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log } from '../log.ts';

/** The files a node's recording spool writes for a session: metadata, parts, their temp files, the failed marker. */
const SPOOL_FILE = /^(meta\.json|part-\d+\.jsonl|failed)(\.tmp)?$/;

/**
 * Moves sessions an older tp left in `legacy` (the spool once shared the recordings store's directory) into
 * `spool`. Only the spool's own files move; anything else, such as a stored recording's parts, stays where it is.
 * Returns how many sessions moved.
 */
export function migrateLegacySpool(legacy: string, spool: string): number {
  if (resolve(legacy) === resolve(spool) || !existsSync(legacy)) return 0;
  let moved = 0;
  for (const sid of readdirSync(legacy, { withFileTypes: true })) {
    if (!sid.isDirectory()) continue;
    const from = join(legacy, sid.name);
    if (!existsSync(join(from, 'meta.json'))) continue;
    const to = join(spool, sid.name);
    mkdirSync(to, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(from)) if (SPOOL_FILE.test(f)) renameSync(join(from, f), join(to, f));
    if (readdirSync(from).length === 0) rmdirSync(from);
    moved++;
  }
  if (moved) log.info('moved pending recordings to the new spool directory', { from: legacy, to: spool, moved });
  return moved;
}

/** Moves the audit event spool an older all-in-one node kept at `<dataDir>/agent-spool.sqlite` into `agentDir`. */
export function migrateLegacyEventSpool(dataDir: string, agentDir: string): void {
  const from = join(dataDir, 'agent-spool.sqlite');
  const to = join(agentDir, 'agent-spool.sqlite');
  if (resolve(from) === resolve(to) || !existsSync(from) || existsSync(to)) return;
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
  log.info('moved the node audit event spool', { from, to });
}
