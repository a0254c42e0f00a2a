import { allowedLogins, expandTemplate, labelsMatch, type Traits } from './access.ts';
import type { Role } from './schema.ts';

/**
 * The logins a user may use on one resource with `labels`: those their roles grant (deny wins) by a role whose
 * allow labels match it, none when a role's deny labels match it; in the order `allowedLogins` gives. The same
 * decision as `checkNodeAccess`, for every login at once (what the web UI offers per row).
 */
export function loginsOn(roles: Role[], traits: Traits, labels: Record<string, string>): string[] {
  if (roles.some((r) => labelsMatch(r.spec.deny.node_labels, labels))) return [];
  const granting = roles.filter((r) => labelsMatch(r.spec.allow.node_labels, labels));
  const here = new Set(granting.flatMap((r) => (r.spec.allow.logins ?? []).flatMap((l) => expandTemplate(l, traits))));
  return allowedLogins(roles, traits).filter((l) => here.has(l));
}
