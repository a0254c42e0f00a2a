import { AccessDenied, Locked } from '../errors.ts';
import type { Identity } from './identity.ts';
import { issueHostCerts, issueUserCerts, type UserCerts } from './issuer.ts';
import { lockedError } from './locks.ts';
import type { AuthService } from './service.ts';
import type { TokenRole } from './tokens.ts';
import { type StoredUser, totpStep, verifyPassword } from './users.ts';

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

/** Login, certificate issuance and agent join: where identities are minted. */
export class CertOps {
  constructor(private readonly s: AuthService) {}

  /** Checks password (+TOTP), lockout and locks; returns certificates for the client's public keys. */
  async login(who: Identity, req: LoginRequest): Promise<LoginResponse> {
    await this.s.authorize(who, 'login');
    const fail = async (err: Error): Promise<never> => {
      await this.s.emit({
        type: 'user.login',
        success: false,
        user: req.username,
        error: err.message,
        method: 'password',
        'addr.remote': req.remoteAddr,
      });
      throw err;
    };
    const now = this.s.deps.clock.now();
    try {
      this.s.deps.guard.rateLimit(req.username);
    } catch (err) {
      return fail(err as Error);
    }
    const user = await this.s.deps.users.find(req.username);
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
      if (user && (await this.s.deps.guard.recordFailure(req.username))) {
        const until = now + this.s.deps.guard.policy.lockoutMs;
        await this.s.deps.users.update(req.username, (u) => ({ ...u, lockedUntil: until }));
        await this.s.deps.guard.clear(req.username);
        await this.s.emit({ type: 'user.locked_out', user: req.username, until: new Date(until).toISOString() });
      }
      const why = passwordOk && user?.totp ? 'invalid or reused second-factor code' : 'invalid username or password';
      return fail(new AccessDenied(why));
    }
    const lock = await this.s.deps.locks.find({ user: user.name });
    if (lock) return fail(lockedError(`user "${user.name}"`, lock));
    if (step !== undefined)
      await this.s.deps.users.update(user.name, (u) => ({ ...u, totp: { ...u.totp!, lastStep: step } }));
    await this.s.deps.guard.clear(user.name);
    const certs = await this.certsFor(user, req.sshPublicKey, req.tlsPublicKey, req.ttlMs, now);
    await this.s.emit({ type: 'user.login', user: user.name, method: 'password', 'addr.remote': req.remoteAddr });
    return certs;
  }

  private async certsFor(
    user: StoredUser,
    sshPublicKey: string,
    tlsPublicKey: string,
    ttlMs: number | undefined,
    now: number,
  ): Promise<LoginResponse> {
    const roles = await this.s.rolesOf(user.roles);
    const certs = await issueUserCerts({
      userCa: this.s.loaded.user,
      tlsCa: this.s.loaded.tls,
      cluster: this.s.deps.cluster,
      username: user.name,
      roles,
      traits: user.traits,
      sshPublicKey,
      tlsPublicKey,
      ttlMs,
      now,
    });
    await this.s.emit({
      type: 'cert.create',
      user: user.name,
      logins: certs.logins,
      ttl: certs.ttlMs,
      expires: certs.expires,
    });
    return {
      ...certs,
      cluster: this.s.deps.cluster,
      username: user.name,
      hostCa: this.s.getCa('host').sshKeys,
      tlsCa: this.s.getCa('tls').tlsCerts,
    };
  }

  /** Signs certificates for a user without a password (admins: `tp ca sign`); TTL still capped by roles. */
  async signUser(
    who: Identity,
    req: { username: string; sshPublicKey: string; tlsPublicKey: string; ttlMs?: number },
  ): Promise<LoginResponse> {
    await this.s.authorize(who, 'cert', 'create');
    const user = await this.s.deps.users.get(req.username);
    const lock = await this.s.deps.locks.find({ user: user.name });
    if (lock) throw lockedError(`user "${user.name}"`, lock);
    return this.certsFor(user, req.sshPublicKey, req.tlsPublicKey, req.ttlMs, this.s.deps.clock.now());
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
    await this.s.authorize(who, 'cert', 'create');
    const out = await issueHostCerts({
      ...req,
      hostCa: this.s.loaded.host,
      tlsCa: this.s.loaded.tls,
      cluster: this.s.deps.cluster,
      now: this.s.deps.clock.now(),
    });
    await this.s.emit({ type: 'cert.create', user: who.name, host: req.hostName, host_id: out.hostId, role: req.role });
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
      await this.s.deps.tokens.consume(req.token, req.role, req.hostName);
    } catch (err) {
      await this.s.emit({
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
      hostCa: this.s.loaded.host,
      tlsCa: this.s.loaded.tls,
      cluster: this.s.deps.cluster,
      ttlMs: 365 * 86_400_000,
      now: this.s.deps.clock.now(),
    });
    await this.s.emit({
      type: 'join',
      host: req.hostName,
      host_id: out.hostId,
      role: req.role,
      'addr.remote': req.remoteAddr,
    });
    return {
      ...out,
      cluster: this.s.deps.cluster,
      userCa: this.s.getCa('user').sshKeys,
      hostCa: this.s.getCa('host').sshKeys,
      tlsCa: this.s.getCa('tls').tlsCerts,
    };
  }
}
