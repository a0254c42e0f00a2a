import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { BadParameter } from '../errors.ts';
import type { Config } from './schema.ts';

/** Where the services of one data dir keep their files. Every tp process derives its paths from here alone. */
export interface DataLayout {
  dataDir: string;
  /** A standalone or all-in-one agent's identity and audit event spool. */
  agentDir: string;
  /** A standalone proxy's identity. */
  proxyDir: string;
  /** The node's recording spool: sessions waiting for upload, deleted once stored. */
  recordingSpool: string;
  /** The auth's recordings store when it is a directory; undefined for an S3 bucket. */
  recordingsStore: string | undefined;
  /** Where an older tp kept the spool: the all-in-one node's and a standalone agent's (read once, then moved). */
  legacySpools: string[];
}

/** The layout of `dataDir` for a config's recordings store (default: `<dataDir>/recordings`). */
export function dataLayout(dataDir: string, recordings?: Config['auth']['recordings']): DataLayout {
  const dir = resolve(dataDir);
  return {
    dataDir: dir,
    agentDir: join(dir, 'agent'),
    proxyDir: join(dir, 'proxy'),
    recordingSpool: join(dir, 'spool', 'recordings'),
    recordingsStore: recordingsStoreDir(dir, recordings),
    legacySpools: [join(dir, 'recordings'), join(dir, 'agent', 'recordings')],
  };
}

/** The directory of a filesystem recordings store, or undefined for S3. */
export function recordingsStoreDir(dataDir: string, recordings?: Config['auth']['recordings']): string | undefined {
  if (recordings?.type === 's3') return undefined;
  return resolve(recordings?.path ?? join(dataDir, 'recordings'));
}

/** Resolves symlinks in the longest existing prefix of `p`, so two spellings of one directory compare equal. */
function canonical(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    tail.unshift(head.slice(dirname(head).length).replace(/^\//, ''));
    head = dirname(head);
  }
  return join(realpathSync(head), ...tail);
}

/** True when `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  const r = relative(canonical(outer), canonical(inner));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/**
 * Throws BadParameter when the recording spool and the recordings store overlap: the node deletes what it uploaded
 * from its spool, so a shared directory would delete the stored recordings.
 */
export function checkLayout(l: DataLayout): void {
  const store = l.recordingsStore;
  if (!store) return;
  if (within(l.recordingSpool, store) || within(store, l.recordingSpool))
    throw new BadParameter(
      `the recordings store (${store}) and the node's recording spool (${l.recordingSpool}) must not contain one ` +
        'another: the node deletes each recording from its spool once uploaded. Point auth.recordings.path elsewhere.',
    );
}
