import type { Backend, Item } from './types.ts';

/**
 * Reads and deletes an item so that only one caller ever gets it (one-time tokens, challenges, login states):
 * `missing` when it is absent or expired, `taken` when another caller deleted or rewrote it after this read. The
 * delete is conditional on the revision read, so a caller never deletes (or returns) a newer item than it saw.
 */
export async function takeOnce(b: Backend, key: string): Promise<Item | 'missing' | 'taken'> {
  const item = await b.get(key);
  if (!item) return 'missing';
  return (await b.deleteIf(key, { revision: item.revision })) ? item : 'taken';
}
