// The RBAC policy of resource kind `db`, shared by every database plugin (PostgreSQL, MySQL ...).
import { AccessDenied } from '../errors.ts';
import { allowedDbUsers, checkDbAccess, dbVisible } from './db.ts';
import type { KindPolicy } from './kindPolicy.ts';

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
