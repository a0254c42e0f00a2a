import type * as v from 'valibot';
import type { AccountViewSchema } from '../api/webSchemas.ts';
import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, BadParameter, Unauthenticated } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import type { Emit } from './authorizer.ts';
import { FreshFactor, type FreshProof } from './freshFactor.ts';
import type { Identity } from './identity.ts';
import type { Lockout } from './lockout.ts';
import { type LockStore, lockedError } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { SecondFactor } from './secondFactor.ts';
import { defaultTotpName, newTotpDevice } from './totpDevices.ts';
import {
  checkPasswordPolicy,
  hashPassword,
  newTotp,
  type StoredUser,
  totpStep,
  type UserStore,
  verifyPassword,
} from './users.ts';
import { relyingParty, type WebauthnCeremonies } from './webauthn.ts';

/**
 * A user's own view of their account: never a secret, only what each factor is called and when it was added. Its
 * type is the wire schema's (`GET /webapi/ui/account`), so the server and the web app share one shape.
 */
export type AccountView = v.InferOutput<typeof AccountViewSchema>;

const PENDING_TOTP_TTL_MS = 10 * 60_000;

/** What account self-service reads and writes. */
export interface AccountOpsDeps {
  backend: Backend;
  clock: Clock;
  /** Where the IDs of new authenticator apps come from. */
  ids: IdSource;
  cluster: string;
  emit: Emit;
  users: UserStore;
  locks: LockStore;
  guard: LoginGuard;
  lockout: Lockout;
  webauthn: WebauthnCeremonies;
  secondFactor: SecondFactor;
}

/**
 * Self-service for a logged-in user (through the web UI, with their own certificate forwarded by the proxy):
 * change the password, add and remove second factors. Each change needs a fresh factor (FreshFactor), wrong
 * proofs count towards the login lockout, and every change is audited.
 */
export class AccountOps {
  private readonly fresh: FreshFactor;

  constructor(private readonly d: AccountOpsDeps) {
    this.fresh = new FreshFactor({
      users: d.users,
      guard: d.guard,
      lockout: d.lockout,
      webauthn: d.webauthn,
      emit: d.emit,
    });
  }

  /** The calling user's stored record; refuses anything but a user identity, and locked or locked-out users. */
  private async self(who: Identity): Promise<StoredUser> {
    if (who.kind !== 'user') throw new Unauthenticated('account pages are for logged-in users');
    const lock = await this.d.locks.find({ user: who.name });
    if (lock) throw lockedError(`user "${who.name}"`, lock);
    const u = await this.d.users.get(who.name);
    await this.d.lockout.check(u.name, u, this.d.clock.now());
    return u;
  }

  /** The caller's account with the names of their second factors. */
  async view(who: Identity): Promise<AccountView> {
    const u = await this.self(who);
    const devices: AccountView['devices'] = [];
    const apps = u.totpDevices ?? [];
    for (const d of apps) devices.push({ id: d.id, kind: 'totp', name: d.name, addedAt: d.addedAt });
    for (const d of u.webauthn ?? []) devices.push({ id: d.id, kind: 'webauthn', name: d.name, addedAt: d.addedAt });
    const confirmWith: AccountView['confirmWith'] = [];
    if (apps.length) confirmWith.push('otp');
    if (u.webauthn?.length) confirmWith.push('webauthn');
    if (!confirmWith.length && u.passwordHash) confirmWith.push('password');
    const out: AccountView = {
      name: u.name,
      roles: u.roles,
      logins: u.traits.logins ?? [],
      hasPassword: !!u.passwordHash,
      secondFactor: this.d.secondFactor,
      devices,
      confirmWith,
    };
    if (u.sso) out.sso = u.sso;
    return out;
  }

  /** A challenge for confirming a change with one of the caller's security keys. */
  async confirmChallenge(who: Identity, origin: string): Promise<{ webauthn: unknown }> {
    return this.fresh.challenge(await this.self(who), origin);
  }

  /**
   * Replaces the password after checking the current one and a fresh second factor; a wrong one of either counts
   * towards lockout.
   */
  async changePassword(
    who: Identity,
    req: { oldPassword: string; newPassword: string; proof?: FreshProof; origin: string },
  ): Promise<void> {
    const u = await this.self(who);
    if (u.sso) throw new BadParameter(`"${u.name}" signs in through ${u.sso}; it has no password here`);
    this.fresh.rateLimit(u);
    const now = this.d.clock.now();
    const failed = { type: 'user.password_change' as const };
    if (!(await verifyPassword(req.oldPassword, u.passwordHash)))
      return this.fresh.fail(u, 'the current password is wrong', { now, failed });
    checkPasswordPolicy(req.newPassword);
    await this.fresh.require(u, req.proof, {
      origin: req.origin,
      now,
      what: 'changing the password',
      failed,
      passwordChecked: true,
    });
    const hash = await hashPassword(req.newPassword);
    await this.d.users.update(u.name, (x) => ({ ...x, passwordHash: hash }));
    await this.d.emit({ type: 'user.password_change', user: u.name });
  }

  /** Starts adding a security key: options for `navigator.credentials.create`. */
  async webauthnBegin(who: Identity, origin: string): Promise<{ webauthn: unknown }> {
    // A key the login page never asks for would look like a second factor and never be one.
    if (this.d.secondFactor === 'otp')
      throw new BadParameter(
        'this cluster asks for an authenticator app code at login (second_factor: otp), never a security key: ' +
          'a key added here could not be used to log in',
      );
    const u = await this.self(who);
    const rp = relyingParty(origin);
    return { webauthn: await this.d.webauthn.registrationOptions('account', u.name, u.name, u.webauthn ?? [], rp) };
  }

  /** Finishes adding a security key, confirmed with a fresh factor. */
  async webauthnFinish(
    who: Identity,
    req: { response: unknown; name: string; origin: string; proof?: FreshProof },
  ): Promise<void> {
    const u = await this.self(who);
    this.fresh.rateLimit(u);
    const label = req.name.trim() || `security key ${(u.webauthn?.length ?? 0) + 1}`;
    if ((u.webauthn ?? []).some((d) => d.name === label)) throw new BadParameter(`a key named "${label}" exists`);
    const now = this.d.clock.now();
    await this.fresh.require(u, req.proof, {
      origin: req.origin,
      now,
      what: 'adding a security key',
      failed: { type: 'mfa.add', kind: 'webauthn', device: label },
    });
    const rp = relyingParty(req.origin);
    const device = await this.d.webauthn.verifyRegistration('account', u.name, req.response, label, rp);
    await this.d.users.update(u.name, (x) => ({ ...x, webauthn: [...(x.webauthn ?? []), device] }));
    await this.d.emit({ type: 'mfa.add', user: u.name, kind: 'webauthn', device: label });
  }

  /** Starts adding an authenticator app: a new secret, kept pending until a code of it confirms it. */
  async totpBegin(who: Identity): Promise<{ secret: string; uri: string }> {
    const u = await this.self(who);
    const t = newTotp(this.d.cluster, u.name);
    await this.d.backend.put({
      key: `/pending_totp/${u.name}`,
      value: t.secret,
      expires: this.d.clock.now() + PENDING_TOTP_TTL_MS,
    });
    return t;
  }

  /**
   * Adds the pending authenticator app under `name` (unique among the caller's apps), once a current code of it
   * matches and the change is confirmed with a fresh factor; the apps enrolled before stay.
   */
  async totpFinish(
    who: Identity,
    req: { otp: string; name?: string; origin: string; proof?: FreshProof },
  ): Promise<void> {
    const u = await this.self(who);
    this.fresh.rateLimit(u);
    const apps = u.totpDevices ?? [];
    const label = req.name?.trim() || defaultTotpName(apps);
    if (apps.some((d) => d.name === label))
      throw new BadParameter(`an authenticator app named "${label}" exists: choose another name`);
    const pending = await this.d.backend.get(`/pending_totp/${u.name}`);
    if (!pending)
      throw new BadParameter('no authenticator app is being added (or it took over 10 minutes); start again');
    const now = this.d.clock.now();
    const step = totpStep(pending.value, req.otp, now);
    if (step === undefined) {
      await this.d.emit({
        type: 'mfa.add',
        success: false,
        user: u.name,
        kind: 'totp',
        device: label,
        error: 'wrong code',
      });
      throw new AccessDenied('the code does not match: check the app and the clock, then try again');
    }
    await this.fresh.require(u, req.proof, {
      origin: req.origin,
      now,
      what: 'adding an authenticator app',
      failed: { type: 'mfa.add', kind: 'totp', device: label },
    });
    const device = newTotpDevice(this.d.ids, { name: label, secret: pending.value, now, spentStep: step });
    await this.d.users.update(u.name, (x) => ({ ...x, totpDevices: [...(x.totpDevices ?? []), device] }));
    await this.d.backend.delete(pending.key);
    await this.d.emit({ type: 'mfa.add', user: u.name, kind: 'totp', device: label });
  }

  /**
   * Removes a second factor (an authenticator app's or a security key's ID), confirmed with a fresh factor; the
   * last one the login page can ask for stays while the cluster requires one.
   */
  async removeDevice(who: Identity, req: { id: string; origin: string; proof?: FreshProof }): Promise<void> {
    const u = await this.self(who);
    this.fresh.rateLimit(u);
    const { id } = req;
    const apps = u.totpDevices ?? [];
    const keys = u.webauthn ?? [];
    const app = apps.find((d) => d.id === id);
    const key = keys.find((d) => d.id === id);
    const found = app ?? key;
    if (!found) throw new BadParameter(`no second factor "${id}" on this account`);
    this.keepLoginFactor(!!app, apps.length - (app ? 1 : 0), keys.length - (key ? 1 : 0));
    const name = found.name;
    const kind = app ? 'totp' : 'webauthn';
    await this.fresh.require(u, req.proof, {
      origin: req.origin,
      now: this.d.clock.now(),
      what: `removing ${name}`,
      failed: { type: 'mfa.remove', kind, device: name },
    });
    await this.d.users.update(u.name, (x) =>
      app
        ? { ...x, totpDevices: (x.totpDevices ?? []).filter((d) => d.id !== id) }
        : { ...x, webauthn: (x.webauthn ?? []).filter((d) => d.id !== id) },
    );
    await this.d.emit({ type: 'mfa.remove', user: u.name, kind, device: name });
  }

  /** Refuses a removal that leaves no factor the cluster's login asks for (with `otp`, keys are never asked for). */
  private keepLoginFactor(removingApp: boolean, appsLeft: number, keysLeft: number): void {
    const sf = this.d.secondFactor;
    if (sf === 'off' || appsLeft > 0) return;
    if (sf === 'otp' && removingApp)
      throw new BadParameter(
        'this is your last authenticator app and the cluster asks for a code of one at login (second_factor: otp): ' +
          'add another app first',
      );
    if (sf !== 'otp' && keysLeft === 0)
      throw new BadParameter('this is your last second factor and the cluster requires one: add another first');
  }
}
