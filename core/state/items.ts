import * as v from 'valibot';
import { Unavailable } from '../errors.ts';

/** The kinds of cluster state that auth streams to proxies and agents. */
export const STATE_KINDS = ['node', 'role', 'lock', 'ca', 'rotation', 'resource'] as const;
export type StateKind = (typeof STATE_KINDS)[number];

/**
 * One resource as replicated: its kind, its name within the kind, its document, and when it lapses (epoch ms).
 * Kind `resource` holds plugins' resource records, named `<kind>/<name>/<hostId>`.
 */
export interface StateItem {
  kind: StateKind;
  name: string;
  value: unknown;
  expires?: number;
}

/** One change, in revision order: a resource written or removed. */
export type StateEvent =
  | { revision: number; op: 'put'; item: StateItem }
  | { revision: number; op: 'delete'; kind: StateKind; name: string };

/** Every resource at one revision; changes after `revision` follow as `StateBatch`es. */
export interface StateSnapshot {
  revision: number;
  items: StateItem[];
}

/** The changes after a client's revision, and the revision the client is at once it applied them. */
export interface StateBatch {
  revision: number;
  events: StateEvent[];
}

const KNOWN: ReadonlySet<string> = new Set(STATE_KINDS);
// Kinds are read as strings and the unknown ones dropped (see `known`): a newer auth may stream kinds this build
// does not know, and a follower must keep following the kinds it does.
const Kind = v.string();
const Item = v.object({
  kind: Kind,
  name: v.string(),
  value: v.unknown(),
  expires: v.optional(v.number()),
});
const Revision = v.pipe(v.number(), v.integer(), v.minValue(0));
const Snapshot = v.object({ revision: Revision, items: v.array(Item) });
const Batch = v.object({
  revision: Revision,
  events: v.array(
    v.variant('op', [
      v.object({ revision: Revision, op: v.literal('put'), item: Item }),
      v.object({ revision: Revision, op: v.literal('delete'), kind: Kind, name: v.string() }),
    ]),
  ),
});

function parseAnswer<T>(schema: v.GenericSchema, data: unknown, what: string): T {
  const r = v.safeParse(schema, data);
  if (r.success) return r.output as T;
  const path = r.issues[0].path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
  throw new Unavailable(
    `the server sent a malformed ${what}${path ? ` (field "${path}")` : ''}: ${r.issues[0].message}`,
  );
}

/** Parses a snapshot off the wire, without items of kinds this build does not know; malformed is Unavailable. */
export function parseSnapshot(data: unknown): StateSnapshot {
  const s = parseAnswer<StateSnapshot>(Snapshot, data, 'state snapshot');
  return { revision: s.revision, items: s.items.filter((it) => KNOWN.has(it.kind)) };
}

/** Parses a batch of changes off the wire, without events of kinds this build does not know; malformed is Unavailable. */
export function parseBatch(data: unknown): StateBatch {
  const b = parseAnswer<StateBatch>(Batch, data, 'batch of state changes');
  return { revision: b.revision, events: b.events.filter((e) => KNOWN.has(kindOf(e))) };
}

/** The kind an event is about. */
export function kindOf(e: StateEvent): StateKind {
  return e.op === 'put' ? e.item.kind : e.kind;
}
