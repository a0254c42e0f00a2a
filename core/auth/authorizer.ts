import type { AuditEvent, AuditInput } from '../audit/events.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';
import { checkRule, type LockSubject, type Resource, type Role, type Verb } from '../rbac/index.ts';
import type { Identity } from './identity.ts';
import { lockedError, type StoredLock } from './locks.ts';

/** Stores an audit event (the auth service's audit log). */
export type Emit = (e: AuditInput) => Promise<AuditEvent>;

/** What may be authorized: an RBAC resource, or one of the actions only system identities take. */
export type AuthzResource = Resource | 'login' | 'signup' | 'audit' | 'watch';

/** The decision every auth operation asks before it acts (Teleport's `authz.Authorizer`). */
export interface Authorizer {
  /** Throws AccessDenied (and audits it) unless `who` may do `verb` on `resource`; a locked user is refused. */
  authorize(who: Identity, resource: AuthzResource, verb?: Verb | 'emit'): Promise<void>;
  /** Throws Locked when a lock covers this user. */
  refuseLocked(who: Identity): Promise<void>;
}

/** What the authorizer reads: role documents by name and the live locks. */
export interface AuthorizerDeps {
  roles: { rolesOf(names: string[]): Promise<Role[]> };
  locks: { find(subject: LockSubject): Promise<StoredLock | undefined> };
  emit: Emit;
}

/** What system identities may do without roles. Users get the rules of their roles; admins get everything. */
const SYSTEM_GRANTS: Record<string, ReadonlySet<string>> = {
  proxy: new Set([
    'login',
    'signup',
    'cas.read',
    'node.list',
    'node.read',
    'node.update',
    'role.list',
    'lock.list',
    'watch.read',
    'audit.emit',
    'user.read',
  ]),
  // Nodes write their own sessions' recordings; the proxy passes each node's certificate along (FORWARDED_CERT).
  node: new Set(['cas.read', 'lock.list', 'watch.read', 'audit.emit', 'recording.create', 'node.update']),
  auth: new Set(['cas.read', 'lock.list', 'audit.emit']),
};

/** The authorizer of the auth service: admins may do anything, users what their roles allow, systems their grants. */
export function createAuthorizer(d: AuthorizerDeps): Authorizer {
  const refuseLocked = async (who: Identity): Promise<void> => {
    const lock = await d.locks.find({ user: who.name });
    if (lock) throw lockedError(`user "${who.name}"`, lock);
  };
  const denied = (who: Identity, action: string, error: string) =>
    d.emit({ type: 'auth.attempt', success: false, user: who.name, error, action });

  return {
    refuseLocked,
    async authorize(who, resource, verb = 'read') {
      if (who.kind === 'admin') return;
      const action = resource === 'login' || resource === 'signup' ? resource : `${resource}.${verb}`;
      if (who.kind === 'anonymous') throw new Unauthenticated(`a client certificate is required for ${action}`);
      if (who.kind === 'user') {
        await refuseLocked(who);
        try {
          if (resource === 'login' || resource === 'signup' || resource === 'watch' || verb === 'emit')
            throw new AccessDenied(`${action} is for proxies`);
          checkRule(await d.roles.rolesOf(who.roles), resource as Resource, verb as Verb);
          return;
        } catch (err) {
          await denied(who, action, (err as Error).message);
          throw err;
        }
      }
      if (!SYSTEM_GRANTS[who.kind]?.has(action)) {
        await denied(who, action, `${who.kind} may not ${action}`);
        throw new AccessDenied(`${who.kind} identities may not ${action}`);
      }
    },
  };
}
