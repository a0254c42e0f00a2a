import * as v from 'valibot';
import { CorruptRecord } from '../errors.ts';
import type { Backend, Item } from './types.ts';

/** A JSON document with the revision it was read at (for compare-and-swap). */
export interface Doc<T> {
  value: T;
  revision: number;
}

/**
 * A stored value checked against `schema`, returned as stored (checked, not transformed: a field the schema does
 * not name survives a read-modify-write). Not JSON, or not matching, is a CorruptRecord naming the key and field.
 * Cost: one JSON.parse plus one valibot pass over the named fields (see core/backend/json.bench.ts).
 */
export function decodeDoc<T>(schema: v.GenericSchema<unknown, T>, key: string, text: string): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CorruptRecord(`the stored record ${key} is not JSON`, { key }, { cause: err });
  }
  const r = v.safeParse(schema, data);
  if (r.success) return data as T;
  const issue = r.issues[0];
  const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
  throw new CorruptRecord(
    `the stored record ${key} is not what this server expects${path ? ` (field "${path}")` : ''}: ${issue.message}`,
    { key, field: path },
  );
}

/** Reads a JSON document checked by `schema` (see decodeDoc); undefined when absent. */
export async function getDoc<T>(
  b: Backend,
  key: string,
  schema: v.GenericSchema<unknown, T>,
): Promise<Doc<T> | undefined> {
  const item = await b.get(key);
  return item ? { value: decodeDoc(schema, key, item.value), revision: item.revision } : undefined;
}

/** Every JSON document under a prefix, each checked by `schema` (see decodeDoc). */
export async function listDocs<T>(b: Backend, prefix: string, schema: v.GenericSchema<unknown, T>): Promise<T[]> {
  return (await b.range(prefix)).map((i: Item) => decodeDoc(schema, i.key, i.value));
}
