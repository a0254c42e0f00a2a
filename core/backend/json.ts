import type { Backend, Item } from './types.ts';

/** A JSON document with the revision it was read at (for compare-and-swap). */
export interface Doc<T> {
  value: T;
  revision: number;
}

/** Reads and parses a JSON document; undefined when absent. */
export async function getDoc<T>(b: Backend, key: string): Promise<Doc<T> | undefined> {
  const item = await b.get(key);
  return item ? { value: JSON.parse(item.value) as T, revision: item.revision } : undefined;
}

/** Parses every JSON document under a prefix. */
export async function listDocs<T>(b: Backend, prefix: string): Promise<T[]> {
  return (await b.range(prefix)).map((i: Item) => JSON.parse(i.value) as T);
}
