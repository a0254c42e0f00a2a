import type { AuditInput } from '../audit/events.ts';
import { AccessDenied, BadParameter } from '../errors.ts';
import { type Lockout, lockedOut } from './lockout.ts';
import type { LoginGuard } from './login.ts';
import { spendTotpCode, TOTP_REUSED } from './totpUse.ts';
import { type StoredUser, type UserStore, verifyPassword } from './users.ts';
import { relyingParty, type WebauthnCeremonies } from './webauthn.ts';

/** A fresh proof sent with an account change: a current TOTP code, a security-key assertion, or the password. */
export interface FreshProof {
  otp?: string;
  /** An assertion answering the challenge from `challenge()`. */
  webauthn?: unknown;
  /** Only for accounts with no second factor enrolled (e.g. a cluster with `second_factor: off`). */
  password?: string;
}

/** What a proof check needs of the auth service. */
export interface FreshFactorDeps {
  users: UserStore;
  guard: LoginGuard;
  lockout: Lockout;
  webauthn: WebauthnCeremonies;
  emit(e: AuditInput): Promise<unknown>;
}

/** The WebAuthn ceremony name of re-authentication (its challenges are kept apart from logins'). */
const PURPOSE = 'reauth';

/**
 * Re-authentication for changes to an account's credentials: a web session alone (which may be stolen) does not
 * change a password or a second factor. The proof is one of the factors the user enrolled, or the password when
 * none is; every wrong proof counts on the login lockout's counter, and attempts share the login rate limit.
 */
export class FreshFactor {
  constructor(private readonly d: FreshFactorDeps) {}

  /** Counts an attempt against the login rate limit (LimitExceeded beyond it). */
  rateLimit(u: StoredUser): void {
    this.d.guard.rateLimit(u.name);
  }

  /** Options for `navigator.credentials.get` to prove a change with one of the user's security keys. */
  async challenge(u: StoredUser, origin: string): Promise<{ webauthn: unknown }> {
    this.rateLimit(u);
    return {
      webauthn: await this.d.webauthn.authenticationOptions(PURPOSE, u.name, u.webauthn ?? [], relyingParty(origin)),
    };
  }

  /**
   * Resolves when `proof` is a fresh factor of `u`; otherwise audits `failed` with the reason, counts it towards
   * lockout and throws AccessDenied (Locked once the lockout starts). `passwordChecked` says the caller has just
   * verified the password itself (a password change), so a user without a second factor needs nothing more.
   */
  async require(
    u: StoredUser,
    proof: FreshProof | undefined,
    o: { origin: string; now: number; what: string; failed: AuditInput; passwordChecked?: boolean },
  ): Promise<void> {
    const keys = u.webauthn ?? [];
    const apps = u.totpDevices?.length ?? 0;
    if (apps || keys.length) {
      if (proof?.webauthn !== undefined && keys.length) {
        let device: Awaited<ReturnType<WebauthnCeremonies['verifyAuthentication']>>;
        try {
          device = await this.d.webauthn.verifyAuthentication(
            PURPOSE,
            u.name,
            proof.webauthn,
            keys,
            relyingParty(o.origin),
          );
        } catch (err) {
          return this.fail(u, (err as Error).message, o);
        }
        await this.d.users.update(u.name, (x) => ({
          ...x,
          webauthn: (x.webauthn ?? []).map((k) => (k.id === device.id ? device : k)),
        }));
        return this.passed(u);
      }
      if (proof?.otp !== undefined && apps) {
        const outcome = await spendTotpCode(this.d.users, u.name, proof.otp, o.now);
        if (outcome === 'accepted') return this.passed(u);
        return this.fail(u, outcome === 'reused' ? TOTP_REUSED : 'the second-factor code is wrong', o);
      }
      const ways = [apps && 'the current code of your authenticator app', keys.length && 'your security key'];
      return this.missing(u, `${o.what} needs a fresh second factor: ${ways.filter(Boolean).join(' or ')}`, o);
    }
    if (!u.passwordHash) throw new BadParameter(`"${u.name}" has no password or second factor here to confirm with`);
    if (o.passwordChecked) return this.passed(u);
    if (proof?.password === undefined) return this.missing(u, `${o.what} needs your password`, o);
    if (!(await verifyPassword(proof.password, u.passwordHash))) return this.fail(u, 'the password is wrong', o);
    return this.passed(u);
  }

  /** A right proof is as good as a login: the failures counted so far are forgotten. */
  private async passed(u: StoredUser): Promise<void> {
    await this.d.guard.clear(u.name);
  }

  /** Audits a change sent without the proof it needs (not a guess: it does not count towards lockout). */
  private async missing(u: StoredUser, why: string, o: { failed: AuditInput }): Promise<never> {
    await this.d.emit({ ...o.failed, success: false, user: u.name, error: why });
    throw new AccessDenied(why);
  }

  /** Audits and counts a wrong proof; throws Locked when it started a lockout, AccessDenied otherwise. */
  async fail(u: StoredUser, why: string, o: { now: number; failed: AuditInput }): Promise<never> {
    await this.d.emit({ ...o.failed, success: false, user: u.name, error: why });
    const until = await this.d.lockout.countFailure(u.name, u, o.now);
    if (until) throw lockedOut(u.name, until);
    throw new AccessDenied(why);
  }
}
