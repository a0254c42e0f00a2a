// RBAC for databases (resource kind `db`): `db_labels` decides which databases a user reaches, `db_users` and
// `db_names` which user and database they may name there; trait templates expand, deny wins.
import { AccessDenied } from '../errors.ts';
import { expandTemplate, labelsMatch, type Traits } from './access.ts';
import { grantingRoles, kindVisible } from './kind.ts';
import type { Role } from './schema.ts';

const LABELS = 'db_labels';

function expand(values: string[] | undefined, traits: Traits): string[] {
  return (values ?? []).flatMap((v) => expandTemplate(v, traits));
}

function roleNames(roles: Role[]): string {
  return roles.map((r) => r.metadata.name).join(', ');
}

function listed(values: string[]): string {
  return values.length > 0 ? values.join(', ') : 'none';
}

/** True when the roles let a user see a database with `labels`: some allow `db_labels` match, no deny does. */
export function dbVisible(roles: Role[], labels: Record<string, string>): boolean {
  return kindVisible(roles, LABELS, labels);
}

function allowedNames(roles: Role[], traits: Traits, field: 'db_users' | 'db_names', granting: Role[]): string[] {
  const denied = new Set(roles.flatMap((r) => expand(r.spec.deny[field], traits)));
  if (denied.has('*')) return [];
  const allowed = new Set(granting.flatMap((r) => expand(r.spec.allow[field], traits)));
  return [...allowed].filter((u) => !denied.has(u));
}

/**
 * The database users the roles grant on a database with `labels`, in role order, after templates, minus every user
 * a role denies; none when a deny `db_labels` matches. `*` in the answer means any user.
 */
export function allowedDbUsers(roles: Role[], traits: Traits, labels: Record<string, string>): string[] {
  return allowedNames(roles, traits, 'db_users', grantingRoles(roles, LABELS, labels));
}

/**
 * Throws AccessDenied, with one message per cause, unless the roles let the user reach the database with `labels`
 * as `dbUser` on database `dbName`. Deny wins: a role whose deny `db_labels` match, or whose deny `db_users` /
 * `db_names` name the user / database (or `*`), refuses. Otherwise one role must match the labels, allow the user
 * and allow the name. `dbName` is the effective database: an empty string means the user name (PostgreSQL's rule
 * for a StartupMessage without `database`), so callers may pass the protocol's field as it came; `null` means no
 * database is selected yet (MySQL without a default schema) and only labels and user are checked; callers then
 * check each database the session later selects.
 */
export function checkDbAccess(
  roles: Role[],
  traits: Traits,
  labels: Record<string, string>,
  dbUser: string,
  dbName: string | null,
): void {
  const name = dbName === '' ? dbUser : dbName;
  for (const r of roles) {
    const by = `by role "${r.metadata.name}"`;
    if (labelsMatch(r.spec.deny.db_labels, labels)) throw new AccessDenied(`access to this database is denied ${by}`);
    if (expand(r.spec.deny.db_users, traits).some((u) => u === dbUser || u === '*')) {
      throw new AccessDenied(`database user "${dbUser}" is denied ${by}`);
    }
    if (name !== null && expand(r.spec.deny.db_names, traits).some((n) => n === name || n === '*')) {
      throw new AccessDenied(`database name "${name}" is denied ${by}`);
    }
  }
  const matching = grantingRoles(roles, LABELS, labels);
  if (matching.length === 0) {
    throw new AccessDenied(`database labels do not match any of roles [${roleNames(roles)}]`);
  }
  const forUser = matching.filter((r) => expand(r.spec.allow.db_users, traits).some((u) => u === dbUser || u === '*'));
  if (forUser.length === 0) {
    const users = allowedNames(roles, traits, 'db_users', matching);
    throw new AccessDenied(
      `database user "${dbUser}" is not allowed by roles [${roleNames(roles)}]; allowed users: ${listed(users)}`,
    );
  }
  if (name === null) return;
  if (!forUser.some((r) => expand(r.spec.allow.db_names, traits).some((n) => n === name || n === '*'))) {
    const names = allowedNames(roles, traits, 'db_names', forUser);
    throw new AccessDenied(
      `database name "${name}" is not allowed for user "${dbUser}" by roles [${roleNames(roles)}]; allowed names: ${listed(names)}`,
    );
  }
}
