// The contract of `--format json|yaml`: one schema per command's output. `print` (cmd/lib/output.ts) checks every
// JSON/YAML output against its command's schema before writing it, and test/cliJson.e2e.test.ts runs every command
// and checks what it printed against the same schema. The style (README, "Output and exit codes"): snake_case keys,
// times as ISO-8601 UTC strings, durations as whole milliseconds in keys ending in `_ms`, every key always present
// with `null` for "none" (never 0 or ""). Loaded only for json/yaml output (valibot costs start-up time).
import * as v from 'valibot';
import { TpError } from '../../core/errors.ts';
import { RoleSchema } from '../../core/rbac/schema.ts';

/** An ISO-8601 UTC time as `Date.prototype.toISOString` writes it. */
const Time = v.pipe(v.string(), v.regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'an ISO-8601 UTC time'));
const MaybeTime = v.nullable(Time);
const Str = v.string();
const MaybeStr = v.nullable(v.string());
const Strs = v.array(v.string());
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Ms = v.pipe(v.number(), v.minValue(0));
const Labels = v.record(v.string(), v.string());

/** A node as `tp nodes ls` and `tp nodes add` print it. */
const Node = v.strictObject({
  host_id: Str,
  name: Str,
  addr: MaybeStr,
  labels: Labels,
  tunnel: v.boolean(),
  agentless: v.boolean(),
  version: MaybeStr,
  last_seen: MaybeTime,
  /** What the agent last reported about its link: degraded and why, its last outage; null for agentless nodes. */
  link: v.nullable(
    v.strictObject({
      state: v.picklist(['online', 'degraded']),
      reason: MaybeStr,
      skew_ms: v.nullable(v.number()),
      last_outage: v.nullable(v.strictObject({ reason: Str, from: Time, to: Time })),
    }),
  ),
});

const Recording = v.strictObject({
  session_id: Str,
  user: Str,
  login: Str,
  server_id: Str,
  server_name: Str,
  kind: v.picklist(['shell', 'exec', 'desktop']),
  command: MaybeStr,
  started_at: Time,
  ended_at: MaybeTime,
  status: Str,
  parts: Count,
  bytes: Count,
  error: MaybeStr,
  width: v.nullable(Count),
  height: v.nullable(Count),
});

const SsoSubject = v.strictObject({ issuer: Str, subject: Str });

const User = v.strictObject({
  name: Str,
  roles: Strs,
  traits: v.record(v.string(), Strs),
  created_at: Time,
  has_password: v.boolean(),
  has_totp: v.boolean(),
  webauthn: Strs,
  sso: MaybeStr,
  sso_subject: v.nullable(SsoSubject),
  locked_until: MaybeTime,
});

const tokenFields = {
  id: Str,
  roles: v.array(v.picklist(['node', 'proxy', 'bot'])),
  uses: v.picklist(['single', 'multi']),
  used_by: Strs,
  created_at: Time,
  /** Null for a join method (it does not expire; `tp tokens rm` ends it). */
  expires: MaybeTime,
  /** The bot a bot token joins as (`tp bots add|token`). */
  bot: MaybeStr,
  /** `github` or `oidc` for a secretless join method (its `id` is the name CI jobs give as --token); null for a secret token. */
  join_method: v.nullable(v.picklist(['github', 'oidc'])),
  issuer: MaybeStr,
  /** The allow rules (claim = value, AND'd within a rule, rules OR'd); null for a secret token. */
  allow: v.nullable(v.array(v.record(v.string(), v.string()))),
};

const Verdict = v.strictObject({
  rule: Count,
  passed: v.boolean(),
  mismatched: v.array(v.strictObject({ field: Str, want: Str, got: MaybeStr })),
});

const Lock = v.strictObject({
  id: Str,
  target: v.strictObject({ user: MaybeStr, node: MaybeStr, resource: MaybeStr }),
  message: Str,
  created_at: Time,
  created_by: Str,
  expires: MaybeTime,
});

/** A bot and its instances (each join is one; a locked instance says when and why). */
const Bot = v.strictObject({
  name: Str,
  user: Str,
  roles: Strs,
  logins: Strs,
  max_ttl_ms: Ms,
  created_at: Time,
  instances: v.array(
    v.strictObject({
      id: Str,
      generation: Count,
      created_at: Time,
      renewed_at: Time,
      locked: v.nullable(v.strictObject({ at: Time, reason: Str })),
    }),
  ),
});
const botToken = { token: Str, token_expires: Time, ca_pin: Str };

const Phase = v.picklist(['init', 'update_clients', 'update_servers', 'standby', 'rollback']);
const CaTypes = v.array(v.picklist(['user', 'host', 'tls', 'db', 'db_client', 'jwt']));

/** The rotation state: `id` and `started_at` are null before the first rotation. */
const Rotation = v.strictObject({
  id: MaybeStr,
  phase: Phase,
  types: CaTypes,
  mode: v.picklist(['auto', 'manual']),
  started_at: MaybeTime,
  phase_since: MaybeTime,
  grace_ms: Ms,
  timeout_ms: Ms,
  servers: v.array(v.strictObject({ host_id: Str, kind: v.picklist(['node', 'proxy']), name: Str })),
  stalled: v.nullable(v.strictObject({ since: Time, waiting: Strs })),
  last: v.nullable(
    v.strictObject({ id: Str, result: v.picklist(['completed', 'rolled_back']), ended_at: Time, types: CaTypes }),
  ),
});

const RotationStatus = v.strictObject({
  state: Rotation,
  cas: v.array(v.strictObject({ type: Str, active: Str, trusted: Strs })),
  servers: v.array(
    v.strictObject({
      host_id: Str,
      kind: v.picklist(['node', 'proxy']),
      name: Str,
      rotation_id: MaybeStr,
      phase: v.nullable(Phase),
      reported_at: MaybeTime,
      caught_up: v.boolean(),
    }),
  ),
  waiting_for: MaybeStr,
});

const connectorFields = { name: Str, client_id: Str, has_secret: v.boolean(), created_at: Time };
const Connector = v.variant('kind', [
  v.strictObject({
    kind: v.literal('github'),
    ...connectorFields,
    endpoint_url: Str,
    api_url: Str,
    teams_to_roles: v.array(v.strictObject({ org: Str, team: Str, roles: Strs })),
  }),
  v.strictObject({
    kind: v.literal('oidc'),
    ...connectorFields,
    issuer: Str,
    claims_to_roles: v.array(v.strictObject({ claim: Str, value: Str, roles: Strs })),
    scopes: Strs,
    username_claim: MaybeStr,
  }),
]);

const profileFields = {
  proxy: Str,
  cluster: Str,
  user: Str,
  logins: Strs,
  expires: Time,
  valid: v.boolean(),
  keys: Str,
};

/** Audit event keys as stored and exported: snake_case words, dotted for a group (Teleport's `addr.remote`). */
const AUDIT_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const AuditEvent = v.pipe(
  v.looseObject({
    id: Str,
    type: Str,
    code: v.pipe(v.string(), v.regex(/^T[0-9A-Z]{4}[IWE]$/)),
    time: Time,
    cluster: Str,
    success: v.boolean(),
    user: v.optional(Str),
    error: v.optional(Str),
  }),
  v.check(
    (e) => Object.keys(e).every((k) => AUDIT_KEY.test(k)),
    (issue) =>
      `audit event keys are snake_case: ${Object.keys(issue.input as object).filter((k) => !AUDIT_KEY.test(k))}`,
  ),
);

/** An app certificate's files and where the app is (`tp apps login`, `tp apps config`). */
const AppConfig = v.strictObject({
  app: Str,
  public_addr: Str,
  uri: Str,
  cert: Str,
  key: Str,
  ca: Str,
  expires: Time,
  /** The curl command line that reaches the app with this certificate. */
  curl: Str,
});

/** Each command's output, by its command path. */
export const OUTPUTS = {
  version: v.strictObject({ version: Str, bun: Str }),
  status: v.strictObject(profileFields),
  login: v.strictObject({ ...profileFields, ssh_agent: MaybeStr }),
  ls: v.array(v.strictObject({ ...Node.entries, online: v.boolean() })),
  'db ls': v.array(
    v.strictObject({
      name: Str,
      protocol: Str,
      plugin: Str,
      labels: Labels,
      online: v.boolean(),
      /** The database users the roles grant (`*` any); null when the proxy does not say. */
      db_users: v.nullable(Strs),
    }),
  ),
  'kube ls': v.array(
    v.strictObject({
      name: Str,
      labels: Labels,
      online: v.boolean(),
      /** The Kubernetes users the roles grant (`*` any); null when the proxy does not say. */
      kubernetes_users: v.nullable(Strs),
      /** The kubeconfig context `tp kube login` wrote for this cluster; null when there is none. */
      context: MaybeStr,
      /** That context is the kubeconfig's current one. */
      current: v.boolean(),
    }),
  ),
  'apps ls': v.array(v.strictObject({ name: Str, public_addr: Str, url: Str, labels: Labels, online: v.boolean() })),
  'apps login': AppConfig,
  'apps config': AppConfig,
  'bench ssh': v.strictObject({
    rate: v.number(),
    duration_ms: Ms,
    started: Count,
    ok: Count,
    errors: Count,
    skipped: Count,
    first_error: MaybeStr,
    p50_ms: Ms,
    p90_ms: Ms,
    p99_ms: Ms,
    max_ms: Ms,
  }),
  'audit search': v.array(AuditEvent),
  'ca sign': v.variant('kind', [
    v.strictObject({ kind: v.literal('user'), user: Str, logins: Strs, expires: Time, dir: Str }),
    v.strictObject({ kind: v.literal('host'), host: Str, host_id: Str, principals: Strs, expires: Time, dir: Str }),
    v.strictObject({ kind: v.literal('db'), host: Str, expires: Time, dir: Str }),
  ]),
  'nodes add': Node,
  'nodes ls': v.array(Node),
  'recordings ls': v.array(Recording),
  'recordings search': v.array(Recording),
  play: v.strictObject({
    recording: Recording,
    events: v.array(v.tuple([Ms, v.picklist(['o', 'e', 'r']), Str])),
  }),
  'roles ls': v.array(RoleSchema),
  'roles get': RoleSchema,
  'users add': v.strictObject({ user: User, signup_url: MaybeStr, totp_uri: MaybeStr }),
  'users ls': v.array(User),
  'users update': User,
  'users reset': v.strictObject({ user: Str, signup_url: Str }),
  'tokens add': v.strictObject({ token: Str, ca_pin: Str, ...tokenFields }),
  'tokens ls': v.array(v.strictObject(tokenFields)),
  'tokens test': v.strictObject({
    token_ok: v.boolean(),
    failed_check: MaybeStr,
    error: MaybeStr,
    claims: v.nullable(v.record(v.string(), v.unknown())),
    rules: v.array(Verdict),
    passed_rule: v.nullable(Count),
  }),
  'bots add': v.strictObject({ bot: Bot, ...botToken }),
  'bots ls': v.array(Bot),
  'bots token': v.strictObject(botToken),
  'bots lock': v.strictObject({ bot: Str, lock_id: Str }),
  'locks add': Lock,
  'locks ls': v.array(Lock),
  'rotate start': Rotation,
  'rotate phase': Rotation,
  'rotate rollback': Rotation,
  'rotate status': RotationStatus,
  'sso add github': Connector,
  'sso add oidc': Connector,
  'sso ls': v.array(Connector),
  'sso test': v.strictObject({
    provider: Str,
    user: MaybeStr,
    roles: v.nullable(Strs),
    identity: v.nullable(v.record(v.string(), v.unknown())),
    subject: v.nullable(SsoSubject),
  }),
} as const;

/** A command path that prints a result (`tp users ls` → `'users ls'`). */
export type OutputKind = keyof typeof OUTPUTS;
/** What the command at `K` prints with --format json|yaml. */
export type Output<K extends OutputKind> = v.InferOutput<(typeof OUTPUTS)[K]>;

/** The output checked against its command's schema; a mismatch is tp's bug and says which key is wrong. */
export function checkOutput<K extends OutputKind>(kind: K, data: Output<K>): Output<K> {
  const r = v.safeParse(OUTPUTS[kind], data);
  if (r.success) return r.output as Output<K>;
  const issue = r.issues[0];
  const at = v.getDotPath(issue) ?? '(top)';
  throw new TpError(`the JSON output of tp ${kind} breaks its schema at ${at}: ${issue.message}`, { kind, at });
}
