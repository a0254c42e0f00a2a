import { AccessDenied, BadParameter, Unauthenticated } from '../errors.ts';
import type { Identity } from './identity.ts';
import { lockedError } from './locks.ts';
import type { AuthService } from './service.ts';
import { checkPasswordPolicy, hashPassword, newTotp, type StoredUser, totpStep, verifyPassword } from './users.ts';
import { relyingParty } from './webauthn.ts';

/** A user's own view of their account: never a secret, only what each factor is called and when it was added. */
export interface AccountView {
  name: string;
  roles: string[];
  logins: string[];
  hasPassword: boolean;
  sso?: string;
  secondFactor: string;
  devices: { id: string; kind: 'totp' | 'webauthn'; name: string; addedAt?: string }[];
}

const PENDING_TOTP_TTL_MS = 10 * 60_000;

/**
 * Self-service for a logged-in user (through the web UI, with their own certificate forwarded by the proxy):
 * change the password, add and remove second factors. Every change is audited.
 */
export class AccountOps {
  constructor(private readonly s: AuthService) {}

  /** The calling user's stored record; refuses anything but a user identity, and locked users. */
  private async self(who: Identity): Promise<StoredUser> {
    if (who.kind !== 'user') throw new Unauthenticated('account pages are for logged-in users');
    const lock = await this.s.deps.locks.find({ user: who.name });
    if (lock) throw lockedError(`user "${who.name}"`, lock);
    return this.s.deps.users.get(who.name);
  }

  /** The caller's account with the names of their second factors. */
  async view(who: Identity): Promise<AccountView> {
    const u = await this.self(who);
    const devices: AccountView['devices'] = [];
    if (u.totp) devices.push({ id: 'totp', kind: 'totp', name: 'authenticator app' });
    for (const d of u.webauthn ?? []) devices.push({ id: d.id, kind: 'webauthn', name: d.name, addedAt: d.addedAt });
    const out: AccountView = {
      name: u.name,
      roles: u.roles,
      logins: u.traits.logins ?? [],
      hasPassword: !!u.passwordHash,
      secondFactor: this.s.deps.secondFactor,
      devices,
    };
    if (u.sso) out.sso = u.sso;
    return out;
  }

  /** Replaces the password after checking the current one (a wrong one counts towards lockout). */
  async changePassword(who: Identity, oldPassword: string, newPassword: string): Promise<void> {
    const u = await this.self(who);
    if (u.sso) throw new BadParameter(`"${u.name}" signs in through ${u.sso}; it has no password here`);
    if (!(await verifyPassword(oldPassword, u.passwordHash))) {
      await this.s.deps.guard.recordFailure(u.name);
      await this.s.emit({
        type: 'user.password_change',
        success: false,
        user: u.name,
        error: 'wrong current password',
      });
      throw new AccessDenied('the current password is wrong');
    }
    checkPasswordPolicy(newPassword);
    const hash = await hashPassword(newPassword);
    await this.s.deps.users.update(u.name, (x) => ({ ...x, passwordHash: hash }));
    await this.s.emit({ type: 'user.password_change', user: u.name });
  }

  /** Starts adding a security key: options for `navigator.credentials.create`. */
  async webauthnBegin(who: Identity, origin: string): Promise<{ webauthn: unknown }> {
    const u = await this.self(who);
    const rp = relyingParty(origin);
    return { webauthn: await this.s.webauthn.registrationOptions('account', u.name, u.name, u.webauthn ?? [], rp) };
  }

  /** Finishes adding a security key. */
  async webauthnFinish(who: Identity, response: unknown, name: string, origin: string): Promise<void> {
    const u = await this.self(who);
    const label = name.trim() || `security key ${(u.webauthn?.length ?? 0) + 1}`;
    if ((u.webauthn ?? []).some((d) => d.name === label)) throw new BadParameter(`a key named "${label}" exists`);
    const device = await this.s.webauthn.verifyRegistration('account', u.name, response, label, relyingParty(origin));
    await this.s.deps.users.update(u.name, (x) => ({ ...x, webauthn: [...(x.webauthn ?? []), device] }));
    await this.s.emit({ type: 'mfa.add', user: u.name, kind: 'webauthn', device: label });
  }

  /** Starts (re)enrolling an authenticator app: a new secret, kept pending until a code confirms it. */
  async totpBegin(who: Identity): Promise<{ secret: string; uri: string }> {
    const u = await this.self(who);
    const t = newTotp(this.s.deps.cluster, u.name);
    await this.s.deps.backend.put({
      key: `/pending_totp/${u.name}`,
      value: t.secret,
      expires: this.s.deps.clock.now() + PENDING_TOTP_TTL_MS,
    });
    return t;
  }

  /** Confirms the pending authenticator app with a current code; it replaces any earlier one. */
  async totpFinish(who: Identity, otp: string): Promise<void> {
    const u = await this.self(who);
    const pending = await this.s.deps.backend.get(`/pending_totp/${u.name}`);
    if (!pending)
      throw new BadParameter('no authenticator app is being added (or it took over 10 minutes); start again');
    const step = totpStep(pending.value, otp, this.s.deps.clock.now());
    if (step === undefined) {
      await this.s.emit({ type: 'mfa.add', success: false, user: u.name, kind: 'totp', error: 'wrong code' });
      throw new AccessDenied('the code does not match: check the app and the clock, then try again');
    }
    await this.s.deps.users.update(u.name, (x) => ({ ...x, totp: { secret: pending.value, lastStep: step } }));
    await this.s.deps.backend.delete(pending.key);
    await this.s.emit({ type: 'mfa.add', user: u.name, kind: 'totp', device: 'authenticator app' });
  }

  /** Removes a second factor (`totp` or a key's ID); the last one stays while the cluster asks for one. */
  async removeDevice(who: Identity, id: string): Promise<void> {
    const u = await this.self(who);
    const keys = u.webauthn ?? [];
    const has = id === 'totp' ? !!u.totp : keys.some((d) => d.id === id);
    if (!has) throw new BadParameter(`no second factor "${id}" on this account`);
    const remaining = (u.totp ? 1 : 0) + keys.length - 1;
    if (remaining === 0 && this.s.deps.secondFactor !== 'off')
      throw new BadParameter('this is your last second factor and the cluster requires one: add another first');
    const name = id === 'totp' ? 'authenticator app' : keys.find((d) => d.id === id)!.name;
    await this.s.deps.users.update(u.name, (x) => {
      if (id === 'totp') {
        const { totp: _t, ...rest } = x;
        return rest;
      }
      return { ...x, webauthn: (x.webauthn ?? []).filter((d) => d.id !== id) };
    });
    await this.s.emit({ type: 'mfa.remove', user: u.name, kind: id === 'totp' ? 'totp' : 'webauthn', device: name });
  }
}
