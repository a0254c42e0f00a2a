// The role document schema: parsed at the API edge only (valibot costs ~4 MB; agents never load it).
import * as v from 'valibot';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

/** A label selector: label name → allowed value(s); `*` matches anything, `^...$` is a regular expression. */
const Labels = v.record(v.string(), v.union([v.string(), v.array(v.string())]));

const Rule = v.strictObject({
  resources: v.array(
    v.picklist(['*', 'user', 'role', 'token', 'lock', 'audit', 'node', 'cert', 'cluster', 'recording', 'sso']),
  ),
  verbs: v.array(v.picklist(['*', 'list', 'read', 'create', 'update', 'delete'])),
});

/** One `kubernetes_resources` entry: the objects (globs) and verbs a Kubernetes request may act on. */
const KubeResource = v.strictObject({
  /** The resource as in API paths (`pods`, `deployments`, `secrets`), or a glob. */
  kind: v.pipe(v.string(), v.minLength(1)),
  /** Namespace glob; absent is `*`. Cluster-scoped objects are in namespace "". */
  namespace: v.optional(v.string()),
  /** Object name glob; absent is `*`. */
  name: v.optional(v.string()),
  /** get, list, watch, create, update, patch, delete, deletecollection, exec, portforward, or `*`. */
  verbs: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
});

const Conditions = v.strictObject({
  logins: v.optional(v.array(v.string())),
  node_labels: v.optional(Labels),
  /** Databases (resource kind `db`) the role reaches, by their labels. */
  db_labels: v.optional(Labels),
  /** Database users (`{{internal.db_users}}` expands the user's trait); `*` is any. */
  db_users: v.optional(v.array(v.string())),
  /** Database names (`{{internal.db_names}}` expands the user's trait); `*` is any. */
  db_names: v.optional(v.array(v.string())),
  /** Web apps (resource kind `app`) the role reaches, by their labels. */
  app_labels: v.optional(Labels),
  /** Kubernetes clusters (resource kind `kube`) the role reaches, by their labels. */
  kubernetes_labels: v.optional(Labels),
  /** Kubernetes users requests run as (`Impersonate-User`; trait templates expand); `*` is any. */
  kubernetes_users: v.optional(v.array(v.string())),
  /** Kubernetes groups requests run with (`Impersonate-Group`; trait templates expand). */
  kubernetes_groups: v.optional(v.array(v.string())),
  /** Kubernetes objects requests may act on (deny wins; absent in an allow: every object). */
  kubernetes_resources: v.optional(v.array(KubeResource)),
  /** Graphical desktops (resource kind `desktop`, VNC and RDP) the role reaches, by their labels. */
  desktop_labels: v.optional(Labels),
  /** Desktop logins (RDP accounts; trait templates expand); `*` is any. */
  desktop_logins: v.optional(v.array(v.string())),
  rules: v.optional(v.array(Rule)),
});

/** The role document (`tp roles create -f role.yaml`), Teleport-style: metadata + spec.allow/deny/options. */
export const RoleSchema = v.strictObject({
  kind: v.optional(v.literal('role'), 'role'),
  version: v.optional(v.literal('v1'), 'v1'),
  metadata: v.strictObject({
    name: v.pipe(v.string(), v.regex(NAME, 'role names are lowercase letters, digits, "-", "_" or "."')),
    description: v.optional(v.string()),
  }),
  spec: v.strictObject({
    options: v.optional(
      v.strictObject({
        max_session_ttl: v.optional(v.pipe(v.string(), v.regex(DURATION, 'use a duration such as 8h or 30m'))),
        forward_agent: v.optional(v.boolean()),
        port_forwarding: v.optional(v.boolean()),
        permit_pty: v.optional(v.boolean()),
        /** Clipboard between the browser and a desktop, both ways (default true; any role saying false wins). */
        desktop_clipboard: v.optional(v.boolean()),
        /** Desktop sessions only watch: no keyboard or pointer input (any role saying true wins). */
        desktop_view_only: v.optional(v.boolean()),
      }),
      {},
    ),
    allow: v.optional(Conditions, {}),
    deny: v.optional(Conditions, {}),
  }),
});

export type Role = v.InferOutput<typeof RoleSchema>;
export type RoleConditions = v.InferOutput<typeof Conditions>;
export type Resource = v.InferOutput<typeof Rule>['resources'][number];
export type Verb = v.InferOutput<typeof Rule>['verbs'][number];
