// RBAC by resource kind: a role's `<kind>_labels` field (`db_labels`, `kubernetes_labels` ...) decides who sees a
// resource; the kind's own module (db.ts) adds its principals.
import { labelsMatch } from './access.ts';
import type { Role, RoleConditions } from './schema.ts';

type Selector = RoleConditions['node_labels'];

/** The label selector a role's allow or deny side holds under `field` (undefined when it names none). */
export function selectorOf(conditions: RoleConditions, field: string): Selector {
  const value = (conditions as Record<string, unknown>)[field];
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Selector) : undefined;
}

/** True when some role's allow `field` selector matches `labels` and no role's deny one does (deny wins). */
export function kindVisible(roles: Role[], field: string, labels: Record<string, string>): boolean {
  if (roles.some((r) => labelsMatch(selectorOf(r.spec.deny, field), labels))) return false;
  return roles.some((r) => labelsMatch(selectorOf(r.spec.allow, field), labels));
}

/** The roles whose allow `field` selector matches `labels` (none when a deny selector matches: deny wins). */
export function grantingRoles(roles: Role[], field: string, labels: Record<string, string>): Role[] {
  if (roles.some((r) => labelsMatch(selectorOf(r.spec.deny, field), labels))) return [];
  return roles.filter((r) => labelsMatch(selectorOf(r.spec.allow, field), labels));
}
