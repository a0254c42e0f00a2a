// Wire schemas of secretless bot joins (join methods, `tp tokens test`): shared by auth and the CLI.
import * as v from 'valibot';

/** The ID-token claims an allow rule may match (GitHub Actions' names; other OIDC issuers use a subset). */
export const CLAIM_FIELDS = [
  'repository',
  'repository_owner',
  'workflow',
  'environment',
  'actor',
  'ref',
  'ref_type',
  'sub',
] as const;
export type ClaimField = (typeof CLAIM_FIELDS)[number];

const Value = v.pipe(v.string(), v.minLength(1), v.maxLength(512));

/** One allow rule: every field given must equal the claim (fields AND'd); a token passes if any rule does (OR). */
export const AllowRuleSchema = v.pipe(
  v.strictObject(
    Object.fromEntries(CLAIM_FIELDS.map((f) => [f, v.optional(Value)])) as Record<
      ClaimField,
      v.OptionalSchema<typeof Value, undefined>
    >,
  ),
  v.check((r) => Object.values(r).some((x) => x !== undefined), 'an allow rule needs at least one field'),
);
export type AllowRule = Partial<Record<ClaimField, string>>;

/** A secretless join method for a bot: which issuer's ID tokens, for which audience, under which rules. */
export const JoinMethodSchema = v.strictObject({
  /** The name CI jobs give as `--token NAME` (not a secret: the ID token is the proof). */
  name: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'names are lowercase letters, digits, - _ .')),
  method: v.picklist(['github', 'oidc']),
  /** The bot user it joins as (`bot-NAME`). */
  bot: v.string(),
  issuer: v.pipe(v.string(), v.url()),
  /** The `aud` the ID token must carry: the cluster name unless given. */
  audience: v.string(),
  /** A static JWKS (JSON) for auth servers that cannot reach the issuer; fetched by discovery when absent. */
  jwks: v.optional(v.string()),
  allow: v.pipe(v.array(AllowRuleSchema), v.minLength(1, 'give at least one --allow rule'), v.maxLength(64)),
  createdAt: v.string(),
  createdBy: v.string(),
});
export type JoinMethod = v.InferOutput<typeof JoinMethodSchema>;

/** How one rule judged a token: the fields whose claim did not match (none when the rule passed). */
export const RuleVerdictSchema = v.object({
  rule: v.number(),
  mismatched: v.array(v.object({ field: v.picklist(CLAIM_FIELDS), want: v.string(), got: v.optional(v.string()) })),
});
export type RuleVerdict = v.InferOutput<typeof RuleVerdictSchema>;

/** How `tp tokens test` judged an ID token: the token's own checks, its claims, then every rule. */
export const TokenTestResultSchema = v.object({
  token: v.variant('ok', [
    v.object({ ok: v.literal(true) }),
    v.object({ ok: v.literal(false), check: v.string(), error: v.string() }),
  ]),
  claims: v.optional(v.record(v.string(), v.unknown())),
  rules: v.array(RuleVerdictSchema),
  passed: v.optional(v.number()),
});
export type TokenTestResult = v.InferOutput<typeof TokenTestResultSchema>;
