import type { AuditEvent, AuditInput } from '../audit/events.ts';
import type { AuditLog, AuditQuery } from '../audit/log.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, AlreadyExists, BadParameter, Locked, NotFound, Unauthenticated } from '../errors.ts';
import { checkRule, type Resource, type Role, type Traits, type Verb } from '../rbac/index.ts';
import { type CaType, type LoadedCa, loadCa, type PublicCa, publicCa, type StoredCa } from './cas.ts';
import type { Identity } from './identity.ts';
import { issueHostCerts, issueUserCerts, type UserCerts } from './issuer.ts';
import type { LockStore, LockTarget, StoredLock } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { NodeRecord, NodeStore } from './nodes.ts';
import type { StoredToken, TokenRole, TokenStore } from './tokens.ts';
import {
  checkPasswordPolicy,
  hashPassword,
  newTotp,
  type PublicUser,
  publicUser,
  type StoredUser,
  totpStep,
  type UserStore,
  verifyPassword,
} from './users.ts';

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
    'audit.emit',
    'user.read',
  ]),
  node: new Set(['cas.read', 'lock.list', 'audit.emit']),
  auth: new Set(['cas.read', 'lock.list', 'audit.emit']),
};

export interface AuthDeps {
  backend: Backend;
  clock: Clock;
  cluster: string;
  cas: Record<CaType, StoredCa>;
  users: UserStore;
  tokens: TokenStore;
  nodes: NodeStore;
  locks: LockStore;
  guard: LoginGuard;
  audit: AuditLog;
  /** Whether password logins also need a TOTP code. */
  secondFactor: 'otp' | 'off';
  /** Base URL of the web UI, for sign-up links. */
  publicUrl: string;
}

/** Login input: the client's public keys go in, certificates come out. */
export interface LoginRequest {
  username: string;
  password: string;
  otp?: string;
  sshPublicKey: string;
  tlsPublicKey: string;
  ttlMs?: number;
  remoteAddr?: string;
}

/** Everything a client needs after login: its certs and the CAs to trust. */
export interface LoginResponse extends UserCerts {
  cluster: string;
  username: string;
  hostCa: string[];
  tlsCa: string[];
}

/**
 * The Auth service's operations, each authorized against the caller's identity and audited. Transport
 * (the mTLS API) lives in api.ts; storage in the stores.
 */
export class AuthService {
  private loaded: Record<CaType, LoadedCa>;

  constructor(private readonly d: AuthDeps) {
    this.loaded = { user: loadCa(d.cas.user), host: loadCa(d.cas.host), tls: loadCa(d.cas.tls) };
  }

  get cluster(): string {
    return this.d.cluster;
  }

  get secondFactor(): 'otp' | 'off' {
    return this.d.secondFactor;
  }

  /** The CAs as loaded (for the auth server's own TLS identity). */
  ca(type: CaType): LoadedCa {
    return this.loaded[type];
  }

  private async emit(e: AuditInput): Promise<AuditEvent> {
    return this.d.audit.emit(e);
  }

  private async rolesOf(names: string[]): Promise<Role[]> {
    const roles: Role[] = [];
    for (const n of names) {
      const doc = await getDoc<Role>(this.d.backend, `/roles/${n}`);
      if (doc) roles.push(doc.value);
    }
    return roles;
  }

  /** Throws AccessDenied (and audits it) unless `who` may do `verb` on `resource`. */
  async authorize(
    who: Identity,
    resource: Resource | 'login' | 'signup' | 'audit',
    verb: Verb | 'emit' = 'read',
  ): Promise<void> {
    if (who.kind === 'admin') return;
    const action = resource === 'login' || resource === 'signup' ? resource : `${resource}.${verb}`;
    if (who.kind === 'anonymous') throw new Unauthenticated(`a client certificate is required for ${action}`);
    if (who.kind === 'user') {
      const lock = await this.d.locks.find({ user: who.name });
      if (lock) throw new Locked(`user "${who.name}" is locked: ${lock.message}`);
      try {
        if (resource === 'login' || resource === 'signup' || verb === 'emit')
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

  /** Public CA keys of one type; anyone may read them. */
  getCa(type: CaType): PublicCa {
    return publicCa(this.loaded[type].stored);
  }

  // ---- users ----

  async listUsers(who: Identity): Promise<PublicUser[]> {
    await this.authorize(who, 'user', 'list');
    return (await this.d.users.list()).map(publicUser);
  }

  /** Creates a user; with a password it is ready at once, otherwise the result has a one-time sign-up link. */
  async createUser(
    who: Identity,
    req: { name: string; roles: string[]; logins?: string[]; traits?: Traits; password?: string },
  ): Promise<{ user: PublicUser; signupUrl?: string; totpUri?: string }> {
    await this.authorize(who, 'user', 'create');
    const missing = req.roles.filter((r) => !r || r.includes('/'));
    if (req.roles.length === 0 || missing.length)
      throw new BadParameter('a user needs at least one valid role (--roles)');
    const known = await this.rolesOf(req.roles);
    const unknown = req.roles.filter((r) => !known.some((k) => k.metadata.name === r));
    if (unknown.length) throw new NotFound(`unknown role(s): ${unknown.join(', ')} (see \`tp roles ls\`)`);
    const now = this.d.clock.now();
    const user: StoredUser = {
      name: req.name,
      roles: req.roles,
      traits: { ...req.traits, logins: req.logins ?? req.traits?.logins ?? [req.name] },
      createdAt: new Date(now).toISOString(),
    };
    let totpUri: string | undefined;
    if (req.password !== undefined) {
      checkPasswordPolicy(req.password);
      user.passwordHash = await hashPassword(req.password);
      if (this.d.secondFactor === 'otp') {
        const t = newTotp(this.d.cluster, req.name);
        user.totp = { secret: t.secret };
        totpUri = t.uri;
      }
    }
    await this.d.users.create(user);
    await this.emit({ type: 'user.create', user: who.name, target: req.name, roles: req.roles });
    const out: { user: PublicUser; signupUrl?: string; totpUri?: string } = { user: publicUser(user) };
    if (totpUri) out.totpUri = totpUri;
    if (req.password === undefined) out.signupUrl = await this.signupUrl(req.name);
    return out;
  }

  private async signupUrl(name: string): Promise<string> {
    const token = await this.d.users.createSignupToken(name, this.d.clock.now(), 24 * 3_600_000);
    return `${this.d.publicUrl}/web/invite/${token}`;
  }

  async deleteUser(who: Identity, name: string): Promise<void> {
    await this.authorize(who, 'user', 'delete');
    await this.d.users.remove(name);
    await this.d.guard.clear(name);
    await this.emit({ type: 'user.delete', user: who.name, target: name });
  }

  /** Clears a user's password, second factor and lockout, and returns a fresh sign-up link. */
  async resetUser(who: Identity, name: string): Promise<{ signupUrl: string }> {
    await this.authorize(who, 'user', 'update');
    await this.d.users.update(name, ({ passwordHash: _p, totp: _t, lockedUntil: _l, ...rest }) => rest);
    await this.d.guard.clear(name);
    await this.emit({ type: 'user.update', user: who.name, target: name, change: 'reset' });
    return { signupUrl: await this.signupUrl(name) };
  }

  /** Completes a sign-up link: sets the password and, when the cluster wants one, enrols TOTP. */
  async completeSignup(who: Identity, token: string, password: string): Promise<{ user: string; totpUri?: string }> {
    await this.authorize(who, 'signup');
    checkPasswordPolicy(password);
    const name = await this.d.users.consumeSignupToken(token);
    const hash = await hashPassword(password);
    const t = this.d.secondFactor === 'otp' ? newTotp(this.d.cluster, name) : undefined;
    await this.d.users.update(name, (u) => ({
      ...u,
      passwordHash: hash,
      ...(t ? { totp: { secret: t.secret } } : {}),
    }));
    await this.emit({ type: 'user.password_change', user: name });
    return t ? { user: name, totpUri: t.uri } : { user: name };
  }

  // ---- login and certificates ----

  /** Checks password (+TOTP), lockout and locks; returns certificates for the client's public keys. */
  async login(who: Identity, req: LoginRequest): Promise<LoginResponse> {
    await this.authorize(who, 'login');
    const fail = async (err: Error): Promise<never> => {
      await this.emit({
        type: 'user.login',
        success: false,
        user: req.username,
        error: err.message,
        method: 'password',
        'addr.remote': req.remoteAddr,
      });
      throw err;
    };
    const now = this.d.clock.now();
    try {
      this.d.guard.rateLimit(req.username);
    } catch (err) {
      return fail(err as Error);
    }
    const user = await this.d.users.find(req.username);
    if (user?.lockedUntil && user.lockedUntil > now) {
      return fail(
        new Locked(
          `account "${req.username}" is locked until ${new Date(user.lockedUntil).toISOString()} after too many failed logins`,
        ),
      );
    }
    const passwordOk = await verifyPassword(req.password, user?.passwordHash);
    let step: number | undefined;
    if (passwordOk && user?.totp) {
      step = req.otp ? totpStep(user.totp.secret, req.otp, now) : undefined;
      if (step !== undefined && user.totp.lastStep !== undefined && step <= user.totp.lastStep) step = undefined;
    }
    if (!user || !passwordOk || (user.totp && step === undefined)) {
      if (user && (await this.d.guard.recordFailure(req.username))) {
        const until = now + this.d.guard.policy.lockoutMs;
        await this.d.users.update(req.username, (u) => ({ ...u, lockedUntil: until }));
        await this.d.guard.clear(req.username);
        await this.emit({ type: 'user.locked_out', user: req.username, until: new Date(until).toISOString() });
      }
      const why = passwordOk && user?.totp ? 'invalid or reused second-factor code' : 'invalid username or password';
      return fail(new AccessDenied(why));
    }
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) return fail(new Locked(`user "${user.name}" is locked: ${lock.message}`));
    if (step !== undefined)
      await this.d.users.update(user.name, (u) => ({ ...u, totp: { ...u.totp!, lastStep: step } }));
    await this.d.guard.clear(user.name);
    const certs = await this.certsFor(user, req.sshPublicKey, req.tlsPublicKey, req.ttlMs, now);
    await this.emit({ type: 'user.login', user: user.name, method: 'password', 'addr.remote': req.remoteAddr });
    return certs;
  }

  private async certsFor(
    user: StoredUser,
    sshPublicKey: string,
    tlsPublicKey: string,
    ttlMs: number | undefined,
    now: number,
  ): Promise<LoginResponse> {
    const roles = await this.rolesOf(user.roles);
    const certs = await issueUserCerts({
      userCa: this.loaded.user,
      tlsCa: this.loaded.tls,
      cluster: this.d.cluster,
      username: user.name,
      roles,
      traits: user.traits,
      sshPublicKey,
      tlsPublicKey,
      ttlMs,
      now,
    });
    await this.emit({
      type: 'cert.create',
      user: user.name,
      logins: certs.logins,
      ttl: certs.ttlMs,
      expires: certs.expires,
    });
    return {
      ...certs,
      cluster: this.d.cluster,
      username: user.name,
      hostCa: this.getCa('host').sshKeys,
      tlsCa: this.getCa('tls').tlsCerts,
    };
  }

  /** Signs certificates for a user without a password (admins: `tp ca sign`); TTL still capped by roles. */
  async signUser(
    who: Identity,
    req: { username: string; sshPublicKey: string; tlsPublicKey: string; ttlMs?: number },
  ): Promise<LoginResponse> {
    await this.authorize(who, 'cert', 'create');
    const user = await this.d.users.get(req.username);
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) throw new Locked(`user "${user.name}" is locked: ${lock.message}`);
    return this.certsFor(user, req.sshPublicKey, req.tlsPublicKey, req.ttlMs, this.d.clock.now());
  }

  /** Signs host certificates for a host named by an admin (agentless nodes, `tp ca sign --host`). */
  async signHost(
    who: Identity,
    req: {
      hostName: string;
      principals?: string[];
      sshPublicKey?: string;
      tlsPublicKey: string;
      ttlMs: number;
      role: 'node' | 'proxy' | 'auth';
    },
  ): Promise<{ hostId: string; sshCert?: string; tlsCert: string }> {
    await this.authorize(who, 'cert', 'create');
    const out = await issueHostCerts({
      ...req,
      hostCa: this.loaded.host,
      tlsCa: this.loaded.tls,
      cluster: this.d.cluster,
      now: this.d.clock.now(),
    });
    await this.emit({ type: 'cert.create', user: who.name, host: req.hostName, host_id: out.hostId, role: req.role });
    return out;
  }

  /** An agent joins with a token: returns its host certificates and the CAs it must pin. */
  async join(req: {
    token: string;
    role: TokenRole;
    hostName: string;
    principals?: string[];
    sshPublicKey?: string;
    tlsPublicKey: string;
    remoteAddr?: string;
  }) {
    try {
      await this.d.tokens.consume(req.token, req.role, req.hostName);
    } catch (err) {
      await this.emit({
        type: 'join',
        success: false,
        host: req.hostName,
        role: req.role,
        error: (err as Error).message,
        'addr.remote': req.remoteAddr,
      });
      throw err;
    }
    const out = await issueHostCerts({
      ...req,
      hostCa: this.loaded.host,
      tlsCa: this.loaded.tls,
      cluster: this.d.cluster,
      ttlMs: 365 * 86_400_000,
      now: this.d.clock.now(),
    });
    await this.emit({
      type: 'join',
      host: req.hostName,
      host_id: out.hostId,
      role: req.role,
      'addr.remote': req.remoteAddr,
    });
    return {
      ...out,
      cluster: this.d.cluster,
      userCa: this.getCa('user').sshKeys,
      hostCa: this.getCa('host').sshKeys,
      tlsCa: this.getCa('tls').tlsCerts,
    };
  }

  // ---- roles ----

  async listRoles(who: Identity): Promise<Role[]> {
    await this.authorize(who, 'role', 'list');
    return listDocs<Role>(this.d.backend, '/roles/');
  }

  async getRole(who: Identity, name: string): Promise<Role> {
    await this.authorize(who, 'role', 'read');
    const doc = await getDoc<Role>(this.d.backend, `/roles/${name}`);
    if (!doc) throw new NotFound(`role "${name}" not found`);
    return doc.value;
  }

  /** Creates a role, or replaces it when `force` is set. */
  async putRole(who: Identity, role: Role, force: boolean): Promise<void> {
    await this.authorize(who, 'role', force ? 'update' : 'create');
    const item = { key: `/roles/${role.metadata.name}`, value: JSON.stringify(role) };
    if (force) await this.d.backend.put(item);
    else
      await this.d.backend.create(item).catch((err: unknown) => {
        if (err instanceof AlreadyExists)
          throw new AlreadyExists(`role "${role.metadata.name}" already exists (use --force to replace it)`);
        throw err;
      });
    await this.emit({ type: 'role.created', user: who.name, target: role.metadata.name, replaced: force });
  }

  /** Deletes a role that no user holds. */
  async deleteRole(who: Identity, name: string): Promise<void> {
    await this.authorize(who, 'role', 'delete');
    const holders = (await this.d.users.list()).filter((u) => u.roles.includes(name)).map((u) => u.name);
    if (holders.length)
      throw new BadParameter(`role "${name}" is held by ${holders.join(', ')}; remove it from them first`);
    await this.d.backend.delete(`/roles/${name}`).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`role "${name}" not found`);
      throw err;
    });
    await this.emit({ type: 'role.deleted', user: who.name, target: name });
  }

  // ---- tokens ----

  async createToken(
    who: Identity,
    roles: TokenRole[],
    uses: 'single' | 'multi',
    ttlMs: number,
  ): Promise<{ token: string; record: StoredToken }> {
    await this.authorize(who, 'token', 'create');
    const out = await this.d.tokens.create(roles, uses, this.d.clock.now(), ttlMs);
    await this.emit({ type: 'token.create', user: who.name, token_id: out.record.id, roles, uses });
    return out;
  }

  async listTokens(who: Identity): Promise<Omit<StoredToken, 'hash'>[]> {
    await this.authorize(who, 'token', 'list');
    return (await this.d.tokens.list()).map(({ hash: _h, ...rest }) => rest);
  }

  async deleteToken(who: Identity, tokenOrId: string): Promise<void> {
    await this.authorize(who, 'token', 'delete');
    const t = await this.d.tokens.remove(tokenOrId);
    await this.emit({ type: 'token.delete', user: who.name, token_id: t.id });
  }

  // ---- locks ----

  async createLock(who: Identity, target: LockTarget, message: string, ttlMs?: number): Promise<StoredLock> {
    await this.authorize(who, 'lock', 'create');
    const lock = await this.d.locks.create(target, message, who.name, this.d.clock.now(), ttlMs);
    await this.emit({ type: 'lock.created', user: who.name, lock_id: lock.id, target, message });
    return lock;
  }

  async listLocks(who: Identity): Promise<StoredLock[]> {
    await this.authorize(who, 'lock', 'list');
    return this.d.locks.list();
  }

  async deleteLock(who: Identity, id: string): Promise<void> {
    await this.authorize(who, 'lock', 'delete');
    await this.d.locks.remove(id);
    await this.emit({ type: 'lock.deleted', user: who.name, lock_id: id });
  }

  // ---- nodes ----

  /** Registers or renews a node; heartbeats pass `ttlMs` so a silent node drops out of listings. */
  async upsertNode(who: Identity, node: NodeRecord, ttlMs?: number): Promise<void> {
    await this.authorize(who, 'node', 'update');
    const now = this.d.clock.now();
    await this.d.nodes.upsert(
      { ...node, lastSeen: new Date(now).toISOString() },
      ttlMs === undefined ? undefined : now + ttlMs,
    );
  }

  async listNodes(who: Identity): Promise<NodeRecord[]> {
    await this.authorize(who, 'node', 'list');
    return this.d.nodes.list();
  }

  async deleteNode(who: Identity, idOrName: string): Promise<void> {
    await this.authorize(who, 'node', 'delete');
    const n = await this.d.nodes.remove(idOrName);
    await this.emit({ type: 'node.delete', user: who.name, host_id: n.hostId, host: n.name });
  }

  // ---- audit ----

  async searchAudit(who: Identity, q: AuditQuery): Promise<AuditEvent[]> {
    await this.authorize(who, 'audit', 'list');
    return this.d.audit.search(q);
  }

  /** Stores events sent by nodes and proxies; the sender's identity is recorded, not trusted from the body. */
  async emitAudit(who: Identity, events: AuditInput[]): Promise<number> {
    await this.authorize(who, 'audit', 'emit');
    for (const e of events) await this.emit({ ...e, reported_by: `${who.kind}:${who.name}` });
    return events.length;
  }
}
