import { type AllowRule, CLAIM_FIELDS, type RuleVerdict } from '../../api/joinMethodSchemas.ts';

export type { AllowRule, JoinMethod } from '../../api/joinMethodSchemas.ts';

/** Judges the claims against every rule; `passed` is the first rule that matches, if any. */
export function judgeClaims(
  allow: AllowRule[],
  claims: Record<string, unknown>,
): { passed?: number; verdicts: RuleVerdict[] } {
  const verdicts = allow.map((rule, i) => ({
    rule: i + 1,
    mismatched: CLAIM_FIELDS.filter((f) => rule[f] !== undefined && claims[f] !== rule[f]).map((f) => ({
      field: f,
      want: rule[f] as string,
      got: typeof claims[f] === 'string' ? (claims[f] as string) : undefined,
    })),
  }));
  const passed = verdicts.find((x) => x.mismatched.length === 0)?.rule;
  return { passed, verdicts };
}

/** The refusal a client sees: which rule and which claim failed, never the claim values. */
export function refusalSentence(verdicts: RuleVerdict[]): string {
  const parts = verdicts.map((x) => `rule ${x.rule}: ${x.mismatched.map((m) => m.field).join(', ')} did not match`);
  return `the ID token matches no allow rule (${parts.join('; ')})`;
}
