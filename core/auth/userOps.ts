import { BadParameter, NotFound } from '../errors.ts';
import type { Traits } from '../rbac/index.ts';
import type { Identity } from './identity.ts';
import type { AuthService } from './service.ts';
import { checkPasswordPolicy, hashPassword, newTotp, type PublicUser, publicUser, type StoredUser } from './users.ts';

/** User management and sign-up, each call authorized and audited through the service. */
export class UserOps {
  constructor(private readonly s: AuthService) {}

  async listUsers(who: Identity): Promise<PublicUser[]> {
    await this.s.authorize(who, 'user', 'list');
    return (await this.s.deps.users.list()).map(publicUser);
  }

  /** Creates a user; with a password it is ready at once, otherwise the result has a one-time sign-up link. */
  async createUser(
    who: Identity,
    req: { name: string; roles: string[]; logins?: string[]; traits?: Traits; password?: string },
  ): Promise<{ user: PublicUser; signupUrl?: string; totpUri?: string }> {
    await this.s.authorize(who, 'user', 'create');
    const missing = req.roles.filter((r) => !r || r.includes('/'));
    if (req.roles.length === 0 || missing.length)
      throw new BadParameter('a user needs at least one valid role (--roles)');
    const known = await this.s.rolesOf(req.roles);
    const unknown = req.roles.filter((r) => !known.some((k) => k.metadata.name === r));
    if (unknown.length) throw new NotFound(`unknown role(s): ${unknown.join(', ')} (see \`tp roles ls\`)`);
    const now = this.s.deps.clock.now();
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
      if (this.s.deps.secondFactor === 'otp') {
        const t = newTotp(this.s.deps.cluster, req.name);
        user.totp = { secret: t.secret };
        totpUri = t.uri;
      }
    }
    await this.s.deps.users.create(user);
    await this.s.emit({ type: 'user.create', user: who.name, target: req.name, roles: req.roles });
    const out: { user: PublicUser; signupUrl?: string; totpUri?: string } = { user: publicUser(user) };
    if (totpUri) out.totpUri = totpUri;
    if (req.password === undefined) out.signupUrl = await this.signupUrl(req.name);
    return out;
  }

  private async signupUrl(name: string): Promise<string> {
    const token = await this.s.deps.users.createSignupToken(name, this.s.deps.clock.now(), 24 * 3_600_000);
    return `${this.s.deps.publicUrl}/web/invite/${token}`;
  }

  async deleteUser(who: Identity, name: string): Promise<void> {
    await this.s.authorize(who, 'user', 'delete');
    await this.s.deps.users.remove(name);
    await this.s.deps.guard.clear(name);
    await this.s.emit({ type: 'user.delete', user: who.name, target: name });
  }

  /** Clears a user's password, second factor and lockout, and returns a fresh sign-up link. */
  async resetUser(who: Identity, name: string): Promise<{ signupUrl: string }> {
    await this.s.authorize(who, 'user', 'update');
    await this.s.deps.users.update(name, ({ passwordHash: _p, totp: _t, lockedUntil: _l, ...rest }) => rest);
    await this.s.deps.guard.clear(name);
    await this.s.emit({ type: 'user.update', user: who.name, target: name, change: 'reset' });
    return { signupUrl: await this.signupUrl(name) };
  }

  /** Completes a sign-up link: sets the password and, when the cluster wants one, enrols TOTP. */
  async completeSignup(who: Identity, token: string, password: string): Promise<{ user: string; totpUri?: string }> {
    await this.s.authorize(who, 'signup');
    checkPasswordPolicy(password);
    const name = await this.s.deps.users.consumeSignupToken(token);
    const hash = await hashPassword(password);
    const t = this.s.deps.secondFactor === 'otp' ? newTotp(this.s.deps.cluster, name) : undefined;
    await this.s.deps.users.update(name, (u) => ({
      ...u,
      passwordHash: hash,
      ...(t ? { totp: { secret: t.secret } } : {}),
    }));
    await this.s.emit({ type: 'user.password_change', user: name });
    return t ? { user: name, totpUri: t.uri } : { user: name };
  }
}
