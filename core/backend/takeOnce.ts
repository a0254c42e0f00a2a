import { NotFound } from '../errors.ts';
import type { Backend, Item } from './types.ts';

/**
 * Reads and deletes an item so that only one caller ever gets it (one-time tokens, challenges, login states):
 * `missing` when it is absent or expired, `taken` when another caller deleted it between this read and delete.
 */
export async function takeOnce(b: Backend, key: string): Promise<Item | 'missing' | 'taken'> {
  const item = await b.get(key);
  if (!item) return 'missing';
  try {
    await b.delete(key);
  } catch (err) {
    if (err instanceof NotFound) return 'taken';
    throw err;
  }
  return item;
}
