import type { Storage } from 'unstorage';
import type { AuditEvent, AuditInput } from '../audit/events.ts';
import type { AuditLog } from '../audit/log.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';
import { checkRule, type Resource, type Role, type Verb } from '../rbac/index.ts';
import { AccountOps } from './accountOps.ts';
import { CA_TYPES, type CaType, caKey, type LoadedCa, loadCa, type PublicCa, publicCa, type StoredCa } from './cas.ts';
import { CertOps } from './certOps.ts';
import type { Identity } from './identity.ts';
import { Lockout } from './lockout.ts';
import { type LockStore, lockedError } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { NodeStore } from './nodes.ts';
import { RecordingOps } from './recordingOps.ts';
import { ResourceOps } from './resourceOps.ts';
import { RotationOps } from './rotationOps.ts';
import type { SecondFactor } from './secondFactor.ts';
import { SessionOwners } from './sessionOwners.ts';
import type { ConnectorStore } from './sso/connectors.ts';
import { SsoOps } from './ssoOps.ts';
import type { TokenStore } from './tokens.ts';
import { UserOps } from './userOps.ts';
import type { UserStore } from './users.ts';
import { WebauthnCeremonies } from './webauthn.ts';
import { WebSessionOps } from './webSessionOps.ts';

export type { SecondFactor } from './secondFactor.ts';

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

export interface AuthDeps {
  backend: Backend;
  clock: Clock;
  cluster: string;
  cas: Record<CaType, StoredCa>;
  users: UserStore;
  connectors: ConnectorStore;
  tokens: TokenStore;
  nodes: NodeStore;
  locks: LockStore;
  guard: LoginGuard;
  audit: AuditLog;
  /** Which second factor users enrol at sign-up (those who have one must always use it). */
  secondFactor: SecondFactor;
  /** Base URL of the web UI, for sign-up links. */
  publicUrl: string;
  /** Where session recordings are stored. */
  recordings: Storage;
  /** Whether nodes record sessions. */
  sessionRecording: 'node' | 'off';
}

/**
 * The Auth service's operations, each authorized against the caller's identity and audited. Transport
 * (the mTLS API) lives in api.ts; storage in the stores.
 */
export class AuthService {
  /** The CAs as loaded for signing and verifying (replaced whole when a rotation changes them). */
  loaded: Record<CaType, LoadedCa>;
  readonly users: UserOps;
  readonly certs: CertOps;
  readonly resources: ResourceOps;
  readonly recordings: RecordingOps;
  readonly rotation: RotationOps;
  readonly account: AccountOps;
  readonly webauthn: WebauthnCeremonies;
  readonly sso: SsoOps;
  readonly webSessions: WebSessionOps;
  /** Which node ran each session (who may write its recording and events). */
  readonly sessions: SessionOwners;
  readonly lockout: Lockout;
  private readonly caListeners: (() => void)[] = [];

  constructor(readonly deps: AuthDeps) {
    this.loaded = { user: loadCa(deps.cas.user), host: loadCa(deps.cas.host), tls: loadCa(deps.cas.tls) };
    this.webauthn = new WebauthnCeremonies(deps.backend, () => deps.clock.now(), deps.cluster);
    this.lockout = new Lockout({ ...deps, emit: (e) => this.emit(e) });
    this.users = new UserOps(this);
    this.certs = new CertOps(this);
    this.resources = new ResourceOps(this);
    this.recordings = new RecordingOps(this, deps.recordings);
    this.rotation = new RotationOps(this);
    this.account = new AccountOps(this);
    this.sso = new SsoOps(this);
    this.webSessions = new WebSessionOps(this);
    this.sessions = new SessionOwners(deps.backend, deps.clock, deps.audit.store);
  }

  /** Rereads the CAs from storage; listeners (the API server's TLS context) run when any key changed. */
  async reloadCas(): Promise<void> {
    const next: Partial<Record<CaType, LoadedCa>> = {};
    let changed = false;
    for (const type of CA_TYPES) {
      const doc = await getDoc<StoredCa>(this.deps.backend, caKey(type));
      if (!doc) continue;
      if (JSON.stringify(doc.value) === JSON.stringify(this.loaded[type].stored)) continue;
      next[type] = loadCa(doc.value);
      changed = true;
    }
    if (!changed) return;
    this.loaded = { ...this.loaded, ...next };
    for (const fn of this.caListeners) fn();
  }

  /** Calls `fn` after every CA change this server loads. */
  onCaChange(fn: () => void): void {
    this.caListeners.push(fn);
  }

  get cluster(): string {
    return this.deps.cluster;
  }

  get secondFactor(): SecondFactor {
    return this.deps.secondFactor;
  }

  /** The CAs as loaded (for the auth server's own TLS identity). */
  ca(type: CaType): LoadedCa {
    return this.loaded[type];
  }

  /** Stores an audit event. */
  async emit(e: AuditInput): Promise<AuditEvent> {
    return this.deps.audit.emit(e);
  }

  /** Role documents by name; unknown names are skipped. */
  async rolesOf(names: string[]): Promise<Role[]> {
    const roles: Role[] = [];
    for (const n of names) {
      const doc = await getDoc<Role>(this.deps.backend, `/roles/${n}`);
      if (doc) roles.push(doc.value);
    }
    return roles;
  }

  /** Throws AccessDenied (and audits it) unless `who` may do `verb` on `resource`. */
  async authorize(
    who: Identity,
    resource: Resource | 'login' | 'signup' | 'audit' | 'watch',
    verb: Verb | 'emit' = 'read',
  ): Promise<void> {
    if (who.kind === 'admin') return;
    const action = resource === 'login' || resource === 'signup' ? resource : `${resource}.${verb}`;
    if (who.kind === 'anonymous') throw new Unauthenticated(`a client certificate is required for ${action}`);
    if (who.kind === 'user') {
      await this.refuseLocked(who);
      try {
        if (resource === 'login' || resource === 'signup' || resource === 'watch' || verb === 'emit')
          throw new AccessDenied(`${action} is for proxies`);
        checkRule(await this.rolesOf(who.roles), resource as Resource, verb as Verb);
        return;
      } catch (err) {
        await this.emit({
          type: 'auth.attempt',
          success: false,
          user: who.name,
          error: (err as Error).message,
          action,
        });
        throw err;
      }
    }
    if (!SYSTEM_GRANTS[who.kind]?.has(action)) {
      await this.emit({
        type: 'auth.attempt',
        success: false,
        user: who.name,
        error: `${who.kind} may not ${action}`,
        action,
      });
      throw new AccessDenied(`${who.kind} identities may not ${action}`);
    }
  }

  /** Throws Locked when a lock covers this user. */
  async refuseLocked(who: Identity): Promise<void> {
    const lock = await this.deps.locks.find({ user: who.name });
    if (lock) throw lockedError(`user "${who.name}"`, lock);
  }

  /** Public CA keys of one type; anyone may read them. */
  getCa(type: CaType): PublicCa {
    return publicCa(this.loaded[type].stored);
  }
}
