export type { Traits } from './access.ts';
export {
  allowedLogins,
  checkNodeAccess,
  checkRule,
  DEFAULT_MAX_SESSION_TTL,
  expandTemplate,
  labelsMatch,
  maxSessionTtl,
  nodeVisible,
  recordingScope,
  ruleAllows,
  sshPermissions,
} from './access.ts';
export { appPolicy, appVisible, checkAppAccess } from './appPolicy.ts';
export { allowedDbUsers, checkDbAccess, dbVisible } from './db.ts';
export { checkDbRoute, dbPolicy } from './dbPolicy.ts';
export {
  allowedDesktopLogins,
  type DesktopSessionRights,
  desktopPolicy,
  desktopSessionRights,
  desktopVisible,
} from './desktopPolicy.ts';
export { type LoginRefusal, loginRefusals, noLoginsSentence } from './explain.ts';
export { loginsOn } from './grants.ts';
export { grantingRoles, kindVisible, selectorOf } from './kind.ts';
export type { LockScope, LockSubject } from './lock.ts';
export { lockApplies } from './lock.ts';
export { resolveRoles } from './resolve.ts';
export type { Resource, Role, RoleConditions, Verb } from './role.ts';
export { presetRoles, validName } from './role.ts';
