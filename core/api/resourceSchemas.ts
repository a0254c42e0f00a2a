import * as v from 'valibot';

/**
 * Wire schemas of generic resource records (databases, kube clusters, apps, desktops: every kind a plugin serves),
 * as agents heartbeat them and as auth and the proxy list them. Like schemas.ts, it imports nothing but valibot.
 */

/** Most resources one agent may announce in one heartbeat (more is refused, not truncated). */
export const MAX_RESOURCES_PER_AGENT = 100;
/** Largest `spec` of one resource, as JSON text (bytes of UTF-16 code units). */
export const MAX_RESOURCE_SPEC = 4096;
/** Most labels on one resource. */
export const MAX_RESOURCE_LABELS = 32;

const RESOURCE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const KIND = /^[a-z][a-z0-9_-]{0,31}$/;
const PLUGIN = /^[a-z][a-z0-9_-]{0,63}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
// Terminal and C1 control characters: listings print labels and specs to terminals (`tp db ls`); output is made
// terminal-safe too, and records that hold them are refused at the door.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** True when no string inside `value` (keys included) holds a control character. */
function printable(value: unknown): boolean {
  if (typeof value === 'string') return !CONTROL.test(value);
  if (Array.isArray(value)) return value.every(printable);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, x]) => printable(k) && printable(x));
  return true;
}

/** A resource kind (`db`, `kube`): lowercase letters, digits, `-` or `_`, up to 32. */
export const ResourceKindSchema = v.pipe(v.string(), v.regex(KIND, 'a resource kind is lowercase letters and digits'));
/** A resource name, unique within its kind (`pg1`): lowercase letters, digits, `-`, `_` or `.`, up to 63. */
export const ResourceNameSchema = v.pipe(
  v.string(),
  v.regex(RESOURCE_NAME, 'resource names are up to 63 lowercase letters, digits, "-", "_" or "."'),
);
const LabelsSchema = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(LABEL, 'label names are up to 63 letters, digits, "-", "_", "." or "/"')),
    v.pipe(
      v.string(),
      v.maxLength(255),
      v.check((s: string) => printable(s), 'label values hold no control characters'),
    ),
  ),
  v.check((l) => Object.keys(l).length <= MAX_RESOURCE_LABELS, `at most ${MAX_RESOURCE_LABELS} labels per resource`),
);
const SpecSchema = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check(
    (s) => JSON.stringify(s).length <= MAX_RESOURCE_SPEC,
    `a resource spec is at most ${MAX_RESOURCE_SPEC} bytes`,
  ),
  v.check((s: Record<string, unknown>) => printable(s), 'a resource spec holds no control characters'),
);

/** One resource as an agent heartbeats it: the plugin's kind and name come along, auth adds host ID and times. */
export const HeartbeatResourceSchema = v.strictObject({
  kind: ResourceKindSchema,
  plugin: v.pipe(v.string(), v.regex(PLUGIN, 'a plugin name is lowercase letters, digits, "-" or "_"')),
  name: ResourceNameSchema,
  labels: v.optional(LabelsSchema, {}),
  spec: v.optional(SpecSchema, {}),
});
export type HeartbeatResource = v.InferOutput<typeof HeartbeatResourceSchema>;

/** Every resource an agent serves now (an empty list withdraws all it announced before). */
export const HeartbeatResourcesSchema = v.pipe(
  v.array(HeartbeatResourceSchema),
  v.maxLength(MAX_RESOURCES_PER_AGENT, `an agent announces at most ${MAX_RESOURCES_PER_AGENT} resources`),
  v.check(
    (rs) => new Set(rs.map((r) => `${r.kind}/${r.name}`)).size === rs.length,
    'an agent announces each resource once',
  ),
);

/** `POST /v1/resources/heartbeat`: the backend revision of the write (for read-your-writes at the proxy). */
export const ResourceHeartbeatAnswerSchema = v.object({ revision: v.number() });

/** A resource as stored and listed (`core/plugin/types.ts` ResourceRecord). */
export const ResourceRecordSchema = v.object({
  kind: v.string(),
  name: v.string(),
  labels: v.record(v.string(), v.string()),
  plugin: v.string(),
  hostId: v.string(),
  spec: v.record(v.string(), v.unknown()),
  lastSeen: v.string(),
});
export type ResourceRecordWire = v.InferOutput<typeof ResourceRecordSchema>;

/** A resource as a user's listing shows it (`GET /webapi/resources?kind=`): one row per name, whoever serves it. */
export const ListedResourceSchema = v.object({
  kind: v.string(),
  name: v.string(),
  labels: v.record(v.string(), v.string()),
  plugin: v.string(),
  spec: v.record(v.string(), v.unknown()),
  /** Some agent serving it is reachable now. */
  online: v.boolean(),
  /** The principals the user's roles grant there (db users for `db`), `*` meaning any; absent for kinds without. */
  principals: v.optional(v.array(v.string())),
});
export type ListedResource = v.InferOutput<typeof ListedResourceSchema>;
