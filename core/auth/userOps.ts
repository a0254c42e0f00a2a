import type { Clock } from '../clock.ts';
import { CLOCK_SKEW_MS } from '../crypto/skew.ts';
import { AccessDenied, AlreadyExists, BadParameter, NotFound } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import { DEFAULT_MAX_SESSION_TTL, maxSessionTtl, type Traits } from '../rbac/index.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';
import type { Lockout } from './lockout.ts';
import type { LockStore } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { RoleStore } from './roles.ts';
import { enrolsTotp, enrolsWebauthn, type SecondFactor } from './secondFactor.ts';
import { LEGACY_TOTP_NAME, newTotpDevice, type TotpDevice } from './totpDevices.ts';
import {
  checkPasswordPolicy,
  hashPassword,
  newTotp,
  type PublicUser,
  publicUser,
  type StoredUser,
  totpStep,
  totpUri,
  type UserStore,
} from './users.ts';
import { relyingParty, type WebauthnCeremonies, type WebauthnDevice } from './webauthn.ts';

/** Who created the lock that stops a deleted user's certificates (`tp locks ls` shows it). */
export const DELETED_LOCK_OWNER = 'auth:user-deleted';

/** What user management and sign-up read and write. */
export interface UserOpsDeps {
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  /** Where the IDs of new authenticator apps come from. */
  ids: IdSource;
  cluster: string;
  users: UserStore;
  roles: Pick<RoleStore, 'rolesOf'>;
  locks: LockStore;
  guard: LoginGuard;
  lockout: Lockout;
  webauthn: WebauthnCeremonies;
  /** Which second factor users enrol at sign-up. */
  secondFactor: SecondFactor;
  /** Base URL of the web UI, for sign-up links. */
  publicUrl: () => string;
}

/** User management and sign-up, each call authorized and audited through the service. */
export class UserOps {
  constructor(private readonly d: UserOpsDeps) {}

  async listUsers(who: Identity): Promise<PublicUser[]> {
    await this.d.authz.authorize(who, 'user', 'list');
    return (await this.d.users.list()).map(publicUser);
  }

  /** Creates a user; with a password it is ready at once, otherwise the result has a one-time sign-up link. */
  async createUser(
    who: Identity,
    req: { name: string; roles: string[]; logins?: string[]; traits?: Traits; password?: string },
  ): Promise<{ user: PublicUser; signupUrl?: string; totpUri?: string }> {
    await this.d.authz.authorize(who, 'user', 'create');
    const missing = req.roles.filter((r) => !r || r.includes('/'));
    if (req.roles.length === 0 || missing.length)
      throw new BadParameter('a user needs at least one valid role (--roles)');
    const known = await this.d.roles.rolesOf(req.roles);
    const unknown = req.roles.filter((r) => !known.some((k) => k.metadata.name === r));
    if (unknown.length) throw new NotFound(`unknown role(s): ${unknown.join(', ')} (see \`tp roles ls\`)`);
    const now = this.d.clock.now();
    const deleted = (await this.d.locks.list()).find(
      (l) => l.target.user === req.name && l.createdBy === DELETED_LOCK_OWNER,
    );
    if (deleted)
      throw new AlreadyExists(
        `a user "${req.name}" was deleted and its certificates are locked until ${new Date(deleted.expires ?? now).toISOString()}: ` +
          `choose another name, or remove lock ${deleted.id} (\`tp locks rm ${deleted.id}\`) to reuse it now`,
      );
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
      if (enrolsTotp(this.d.secondFactor)) {
        const t = newTotp(this.d.cluster, req.name);
        user.totpDevices = [newTotpDevice(this.d.ids, { name: LEGACY_TOTP_NAME, secret: t.secret, now })];
        totpUri = t.uri;
      }
    }
    await this.d.users.create(user);
    await this.d.emit({ type: 'user.create', user: who.name, target: req.name, roles: req.roles });
    const out: { user: PublicUser; signupUrl?: string; totpUri?: string } = { user: publicUser(user) };
    if (totpUri) out.totpUri = totpUri;
    if (req.password === undefined) out.signupUrl = await this.signupUrl(req.name);
    return out;
  }

  private async signupUrl(name: string): Promise<string> {
    const token = await this.d.users.createSignupToken(name, this.d.clock.now(), 24 * 3_600_000);
    return `${this.d.publicUrl()}/web/invite/${token}`;
  }

  /**
   * Deletes a user and locks the name until every certificate it was issued has expired, so they stop working at
   * once on every node, proxy and web session.
   */
  async deleteUser(who: Identity, name: string): Promise<void> {
    await this.d.authz.authorize(who, 'user', 'delete');
    const user = await this.d.users.get(name);
    await this.d.users.remove(name);
    await this.d.guard.clear(name);
    const now = this.d.clock.now();
    const ttl =
      Math.max(maxSessionTtl(await this.d.roles.rolesOf(user.roles)), DEFAULT_MAX_SESSION_TTL) + CLOCK_SKEW_MS;
    const lock = await this.d.locks.create(
      { user: name },
      `user deleted by ${who.name}; certificates issued to it are refused until ${new Date(now + ttl).toISOString()}`,
      DELETED_LOCK_OWNER,
      now,
      ttl,
    );
    await this.d.emit({ type: 'user.delete', user: who.name, target: name, lock_id: lock.id });
  }

  /**
   * Changes a user's roles and traits: each given trait replaces that trait (`logins`, `db_users` ...), others stay;
   * roles must exist. Certificates already issued keep what they state until they expire (log in again).
   */
  async updateUser(who: Identity, name: string, req: { roles?: string[]; traits?: Traits }): Promise<PublicUser> {
    await this.d.authz.authorize(who, 'user', 'update');
    if (req.roles) {
      if (req.roles.length === 0) throw new BadParameter('a user needs at least one role (--roles)');
      const known = await this.d.roles.rolesOf(req.roles);
      const unknown = req.roles.filter((r) => !known.some((k) => k.metadata.name === r));
      if (unknown.length) throw new NotFound(`unknown role(s): ${unknown.join(', ')} (see \`tp roles ls\`)`);
    }
    const before = await this.d.users.get(name);
    if (before.bot) throw new BadParameter(`"${name}" is a bot: change it with \`tp bots\``);
    const updated = await this.d.users.update(name, (u) => ({
      ...u,
      roles: req.roles ?? u.roles,
      traits: { ...u.traits, ...req.traits },
    }));
    const change = [...(req.roles ? ['roles'] : []), ...Object.keys(req.traits ?? {}).map((t) => `traits.${t}`)];
    await this.d.emit({ type: 'user.update', user: who.name, target: name, change: change.join(',') });
    return publicUser(updated);
  }

  /** Clears a user's password, second factor and lockout, and returns a fresh sign-up link. */
  async resetUser(who: Identity, name: string): Promise<{ signupUrl: string }> {
    await this.d.authz.authorize(who, 'user', 'update');
    if ((await this.d.users.get(name)).bot)
      throw new BadParameter(
        `"${name}" is a bot: it has no password to reset (use \`tp bots add\` for a new join token)`,
      );
    await this.d.users.update(name, ({ passwordHash: _p, totpDevices: _t, lockedUntil: _l, ...rest }) => rest);
    await this.d.lockout.clear(name);
    await this.d.emit({ type: 'user.update', user: who.name, target: name, change: 'reset' });
    return { signupUrl: await this.signupUrl(name) };
  }

  /**
   * What the sign-up page shows for a live link: the user name, the cluster's second-factor setting and, when TOTP
   * may be enrolled, the secret and otpauth:// URI to scan (the same on every reload of the page).
   */
  async signupInfo(
    who: Identity,
    token: string,
  ): Promise<{ user: string; secondFactor: SecondFactor; totp?: { secret: string; uri: string } }> {
    await this.d.authz.authorize(who, 'signup');
    const rec = await this.d.users.peekSignupToken(token);
    const sf = this.d.secondFactor;
    if (!enrolsTotp(sf)) return { user: rec.user, secondFactor: sf };
    const secret = await this.d.users.offerSignupTotp(token, newTotp(this.d.cluster, rec.user).secret);
    return { user: rec.user, secondFactor: sf, totp: { secret, uri: totpUri(this.d.cluster, rec.user, secret) } };
  }

  /** Registration options for a security key enrolled at sign-up. */
  async signupWebauthn(who: Identity, token: string, origin: string): Promise<{ webauthn: unknown }> {
    await this.d.authz.authorize(who, 'signup');
    const rec = await this.d.users.peekSignupToken(token);
    const rp = relyingParty(origin);
    return { webauthn: await this.d.webauthn.registrationOptions('signup', rec.user, rec.user, [], rp) };
  }

  /**
   * Completes a sign-up link: sets the password and enrols the second factor the page confirmed (a TOTP code for
   * the offered secret, or a security key registration). Without either, a cluster that wants TOTP gets a fresh,
   * unconfirmed secret back (the command-line path). Nothing is stored unless every check passes.
   */
  async completeSignup(
    who: Identity,
    req: { token: string; password: string; otp?: string; webauthn?: unknown; deviceName?: string; origin?: string },
  ): Promise<{ user: string; totpUri?: string }> {
    await this.d.authz.authorize(who, 'signup');
    checkPasswordPolicy(req.password);
    const rec = await this.d.users.peekSignupToken(req.token);
    const sf = this.d.secondFactor;
    const now = this.d.clock.now();
    let totp: TotpDevice | undefined;
    let device: WebauthnDevice | undefined;
    let totpUriOut: string | undefined;
    if (req.webauthn !== undefined) {
      if (!enrolsWebauthn(sf))
        throw new BadParameter(`this cluster enrols ${sf === 'off' ? 'no second factor' : 'TOTP'}, not security keys`);
      const rp = relyingParty(req.origin ?? '');
      const name = req.deviceName?.trim() || 'security key';
      device = await this.d.webauthn.verifyRegistration('signup', rec.user, req.webauthn, name, rp);
    } else if (req.otp !== undefined) {
      if (!rec.totpSecret) throw new BadParameter('no TOTP secret was offered for this link; reload the sign-up page');
      const step = totpStep(rec.totpSecret, req.otp, now);
      if (step === undefined)
        throw new AccessDenied('the code does not match: check the authenticator app and the clock, then try again');
      // The code that confirmed the app is spent: it cannot log in afterwards.
      totp = newTotpDevice(this.d.ids, { name: LEGACY_TOTP_NAME, secret: rec.totpSecret, now, spentStep: step });
    } else if (sf === 'webauthn') {
      throw new BadParameter('this cluster needs a security key: finish sign-up on the web page');
    } else if (enrolsTotp(sf)) {
      const t = newTotp(this.d.cluster, rec.user);
      totp = newTotpDevice(this.d.ids, { name: LEGACY_TOTP_NAME, secret: t.secret, now });
      totpUriOut = t.uri;
    }
    const hash = await hashPassword(req.password);
    const name = await this.d.users.consumeSignupToken(req.token);
    await this.d.users.update(name, (u) => ({
      ...u,
      passwordHash: hash,
      ...(totp ? { totpDevices: [totp] } : {}),
      ...(device ? { webauthn: [device] } : {}),
    }));
    await this.d.emit({ type: 'user.password_change', user: name });
    if (totp || device)
      await this.d.emit({
        type: 'mfa.add',
        user: name,
        device: device ? device.name : LEGACY_TOTP_NAME,
        kind: device ? 'webauthn' : 'totp',
      });
    return totpUriOut ? { user: name, totpUri: totpUriOut } : { user: name };
  }
}
