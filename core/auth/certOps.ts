import type { LoginResponse } from '../api/schemas.ts';
import type { Clock } from '../clock.ts';
import type { BotCertInfo } from '../crypto/x509.ts';
import { AccessDenied } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { CaReader } from './caSet.ts';
import type { Identity } from './identity.ts';
import { issueHostCerts, issueUserCerts } from './issuer.ts';
import type { Lockout } from './lockout.ts';
import { type LockStore, lockedError } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { RoleStore } from './roles.ts';
import { spendTotpCode, TOTP_REUSED } from './totpUse.ts';
import { type StoredUser, type UserStore, verifyPassword } from './users.ts';
import { relyingParty, type WebauthnCeremonies, type WebauthnDevice } from './webauthn.ts';

/** Login input: the client's public keys go in, certificates come out. */
export interface LoginRequest {
  username: string;
  password: string;
  otp?: string;
  /** A WebAuthn assertion answering the challenge from `loginChallenge` (web UI logins). */
  webauthn?: unknown;
  /** The web origin the browser used, set by the proxy (WebAuthn checks it). */
  origin?: string;
  sshPublicKey: string;
  tlsPublicKey: string;
  ttlMs?: number;
  remoteAddr?: string;
}

export type { LoginResponse };

type Credentials = Pick<LoginRequest, 'username' | 'password' | 'remoteAddr'>;

/** What login and certificate issuance read and write. */
export interface CertOpsDeps {
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  cluster: string;
  cas: CaReader;
  roles: Pick<RoleStore, 'rolesOf'>;
  users: UserStore;
  locks: LockStore;
  guard: LoginGuard;
  lockout: Lockout;
  webauthn: WebauthnCeremonies;
  ids: IdSource;
}

/** Login and certificate issuance: where user identities are minted (agents join in JoinOps). */
export class CertOps {
  constructor(private readonly d: CertOpsDeps) {}

  /** Audits a failed login (never with the password) and throws `err`. */
  private async fail(req: Credentials, method: string, err: Error): Promise<never> {
    await this.d.emit({
      type: 'user.login',
      success: false,
      user: req.username,
      error: err.message,
      method,
      'addr.remote': req.remoteAddr,
    });
    throw err;
  }

  /**
   * Checks rate limit, lockout and password. Returns the user, or counts the failure (locking the account at the
   * threshold), audits it and throws.
   */
  private async firstFactor(req: Credentials, method: string, now: number): Promise<StoredUser> {
    try {
      this.d.guard.rateLimit(req.username);
    } catch (err) {
      return this.fail(req, method, err as Error);
    }
    const user = await this.d.users.find(req.username);
    if (user?.bot)
      return this.fail(
        req,
        method,
        new AccessDenied(
          `"${user.name}" is a bot: bots cannot log in with a password or use the web UI; ` +
            'they get certificates from `tp bot start` with a join token (`tp bots add`)',
        ),
      );
    try {
      await this.d.lockout.check(req.username, user, now);
    } catch (err) {
      return this.fail(req, method, err as Error);
    }
    if (!user || !(await verifyPassword(req.password, user.passwordHash)))
      return this.refuse(req, method, user, 'invalid username or password', now);
    return user;
  }

  /** Counts a failed attempt against the name (locking it out at the threshold), audits it and throws. */
  private async refuse(
    req: Credentials,
    method: string,
    user: StoredUser | undefined,
    why: string,
    now: number,
  ): Promise<never> {
    await this.d.lockout.countFailure(req.username, user, now);
    return this.fail(req, method, new AccessDenied(why));
  }

  /**
   * Checks the password and returns a WebAuthn challenge for the user's security keys (step one of a security-key
   * login). A wrong password counts towards lockout like any failed login.
   */
  async loginChallenge(who: Identity, req: Credentials & { origin: string }): Promise<{ webauthn: unknown }> {
    await this.d.authz.authorize(who, 'login');
    const user = await this.firstFactor(req, 'webauthn', this.d.clock.now());
    const rp = relyingParty(req.origin);
    return { webauthn: await this.d.webauthn.authenticationOptions('login', user.name, user.webauthn ?? [], rp) };
  }

  /**
   * Checks password, the second factor the user enrolled (TOTP code or security key), lockout and locks; returns
   * certificates for the client's public keys.
   */
  async login(who: Identity, req: LoginRequest): Promise<LoginResponse> {
    await this.d.authz.authorize(who, 'login');
    const now = this.d.clock.now();
    let method = req.webauthn ? 'webauthn' : req.otp ? 'otp' : 'password';
    const user = await this.firstFactor(req, method, now);
    let change: ((u: StoredUser) => StoredUser) | undefined;
    const keys = user.webauthn ?? [];
    const apps = user.totpDevices?.length ?? 0;
    if (apps || keys.length) {
      if (req.webauthn && keys.length) {
        let device: WebauthnDevice;
        try {
          const rp = relyingParty(req.origin ?? '');
          device = await this.d.webauthn.verifyAuthentication('login', user.name, req.webauthn, keys, rp);
        } catch (err) {
          return this.refuse(req, method, user, (err as Error).message, now);
        }
        change = (u) => ({ ...u, webauthn: (u.webauthn ?? []).map((d) => (d.id === device.id ? device : d)) });
      } else if (apps && req.otp) {
        const outcome = await spendTotpCode(this.d.users, user.name, req.otp, now);
        if (outcome === 'reused') return this.refuse(req, method, user, TOTP_REUSED, now);
        if (outcome === 'wrong') return this.refuse(req, method, user, 'invalid or reused second-factor code', now);
      } else {
        method = 'password';
        const why = apps
          ? 'invalid or reused second-factor code'
          : 'this account signs in with a security key: log in on the web UI';
        return this.refuse(req, method, user, why, now);
      }
    }
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) return this.fail(req, method, lockedError(`user "${user.name}"`, lock));
    if (change) await this.d.users.update(user.name, change);
    await this.d.guard.clear(user.name);
    const certs = await this.certsFor(user, req.sshPublicKey, req.tlsPublicKey, req.ttlMs, now);
    await this.d.emit({ type: 'user.login', user: user.name, method, 'addr.remote': req.remoteAddr });
    return certs;
  }

  /** Issues a user's certificate pair for the given public keys (callers have authenticated the user). */
  async certsFor(
    user: StoredUser,
    sshPublicKey: string,
    tlsPublicKey: string,
    ttlMs: number | undefined,
    now: number,
    bot?: BotCertInfo,
  ): Promise<LoginResponse> {
    const roles = await this.d.roles.rolesOf(user.roles);
    const certs = await issueUserCerts({
      userCa: this.d.cas.current('user'),
      tlsCa: this.d.cas.current('tls'),
      cluster: this.d.cluster,
      username: user.name,
      roles,
      traits: user.traits,
      sshPublicKey,
      tlsPublicKey,
      ttlMs: user.bot ? Math.min(ttlMs ?? user.bot.maxTtlMs, user.bot.maxTtlMs) : ttlMs,
      now,
      bot,
    });
    await this.d.emit({
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
      hostCa: this.d.cas.public('host').sshKeys,
      tlsCa: this.d.cas.public('tls').tlsCerts,
    };
  }

  /** Signs certificates for a user without a password (admins: `tp ca sign`); TTL still capped by roles. */
  async signUser(
    who: Identity,
    req: { username: string; sshPublicKey: string; tlsPublicKey: string; ttlMs?: number },
  ): Promise<LoginResponse> {
    await this.d.authz.authorize(who, 'cert', 'create');
    const user = await this.d.users.get(req.username);
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) throw lockedError(`user "${user.name}"`, lock);
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
    await this.d.authz.authorize(who, 'cert', 'create');
    const out = await issueHostCerts({
      ...req,
      hostId: this.d.ids.uuid(),
      // An admin vouches for these names: the host may serve TLS for them (an sshd, a service behind tp's CA).
      serverNames: [req.hostName, ...(req.principals ?? [])],
      hostCa: this.d.cas.current('host'),
      tlsCa: this.d.cas.current('tls'),
      cluster: this.d.cluster,
      now: this.d.clock.now(),
    });
    await this.d.emit({ type: 'cert.create', user: who.name, host: req.hostName, host_id: out.hostId, role: req.role });
    return out;
  }
}
