export type { Traits } from './access.ts';
export {
  allowedLogins,
  checkNodeAccess,
  checkRule,
  expandTemplate,
  labelsMatch,
  maxSessionTtl,
  nodeVisible,
  sshPermissions,
} from './access.ts';
export type { Resource, Role, RoleConditions, Verb } from './role.ts';
export { presetRoles, validName } from './role.ts';
