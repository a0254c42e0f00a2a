// The records `--format json|yaml` outputs are made of (nodes, users, bots, rotations, audit events, ...), and the
// field shapes they share; cmd/lib/outputSchemas.ts maps each command to its output. The style is that file's.
import * as v from 'valibot';

/** An ISO-8601 UTC time as `Date.prototype.toISOString` writes it. */
export const Time = v.pipe(v.string(), v.regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'an ISO-8601 UTC time'));
const MaybeTime = v.nullable(Time);
export const Str = v.string();
export const MaybeStr = v.nullable(v.string());
export const Strs = v.array(v.string());
export const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
export const Ms = v.pipe(v.number(), v.minValue(0));
export const Labels = v.record(v.string(), v.string());

/** A node as `tp nodes ls` and `tp nodes add` print it. */
export const Node = v.strictObject({
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

export const Recording = v.strictObject({
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

export const SsoSubject = v.strictObject({ issuer: Str, subject: Str });

export const User = v.strictObject({
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

export const tokenFields = {
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

export const Verdict = v.strictObject({
  rule: Count,
  passed: v.boolean(),
  mismatched: v.array(v.strictObject({ field: Str, want: Str, got: MaybeStr })),
});

export const Lock = v.strictObject({
  id: Str,
  target: v.strictObject({ user: MaybeStr, node: MaybeStr, resource: MaybeStr }),
  message: Str,
  created_at: Time,
  created_by: Str,
  expires: MaybeTime,
});

/** A bot and its instances (each join is one; a locked instance says when and why). */
export const Bot = v.strictObject({
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
export const botToken = { token: Str, token_expires: Time, ca_pin: Str };

const Phase = v.picklist(['init', 'update_clients', 'update_servers', 'standby', 'rollback']);
const CaTypes = v.array(v.picklist(['user', 'host', 'tls', 'db', 'db_client', 'jwt']));

/** The rotation state: `id` and `started_at` are null before the first rotation. */
export const Rotation = v.strictObject({
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

export const RotationStatus = v.strictObject({
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
export const Connector = v.variant('kind', [
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

export const profileFields = {
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
export const AuditEvent = v.pipe(
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
export const AppConfig = v.strictObject({
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
