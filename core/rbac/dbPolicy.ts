// The RBAC policy of resource kind `db`, shared by every database plugin (PostgreSQL, MySQL ...).
import { AccessDenied } from '../errors.ts';
import type { Traits } from './access.ts';
import { allowedDbUsers, checkDbAccess, dbVisible } from './db.ts';
import type { KindPolicy } from './kindPolicy.ts';
import { resolveRoles } from './resolve.ts';
import type { Role } from './role.ts';

/**
 * Databases: `db_labels` decide who sees one; with a principal (the db user) the user is checked too. The proxy
 * cannot see the database name before the protocol starts, so names are the agent's check (`checkDbAccess` with the
 * StartupMessage's or handshake's database).
 */
export const dbPolicy: KindPolicy = {
  labelsField: 'db_labels',
  check(roles, traits, resource, principal) {
    if (principal !== undefined) return checkDbAccess(roles, traits, resource.labels, principal, null);
    if (!dbVisible(roles, resource.labels)) {
      throw new AccessDenied(`access to database "${resource.name}" is not allowed by your roles`);
    }
  },
  principals: (roles, traits, resource) => allowedDbUsers(roles, traits, resource.labels),
};

/**
 * Judges the route a client declared for a database session (`db_user`, `db_name`: the client's word, checked
 * before the agent acks the stream so a refusal reaches the client typed): throws AccessDenied unless the user's
 * current roles (`userRoles`, looked up in `all`) grant them on a database with `labels`. A route without `db_user`
 * passes: the protocol names the user, and the agent checks it there.
 */
export function checkDbRoute(
  all: Role[],
  user: { roles: string[]; traits: Traits },
  labels: Record<string, string>,
  route: Record<string, string>,
): void {
  if (!route.db_user) return;
  const roles = resolveRoles(user.roles, (n) => all.find((r) => r.metadata.name === n));
  checkDbAccess(roles, user.traits, labels, route.db_user, route.db_name || null);
}
