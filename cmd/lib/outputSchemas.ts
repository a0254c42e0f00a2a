// The contract of `--format json|yaml`: one schema per command's output. `print` (cmd/lib/output.ts) checks every
// JSON/YAML output against its command's schema before writing it, and test/cliJson.e2e.test.ts runs every command
// and checks what it printed against the same schema. The style (README, "Output and exit codes"): snake_case keys,
// times as ISO-8601 UTC strings, durations as whole milliseconds in keys ending in `_ms`, every key always present
// with `null` for "none" (never 0 or ""). Loaded only for json/yaml output (valibot costs start-up time).
import * as v from 'valibot';
import { TpError } from '../../core/errors.ts';
import { RoleSchema } from '../../core/rbac/schema.ts';
import {
  AppConfig,
  AuditEvent,
  Bot,
  botToken,
  Connector,
  Count,
  Labels,
  Lock,
  MaybeStr,
  Ms,
  Node,
  profileFields,
  Recording,
  Rotation,
  RotationStatus,
  SsoSubject,
  Str,
  Strs,
  Time,
  tokenFields,
  User,
  Verdict,
} from './outputRecords.ts';

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
