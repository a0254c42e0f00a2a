import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { PublicUser } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { decodeDoc, getDoc, listDocs } from '../backend/json.ts';
import { takeOnce } from '../backend/takeOnce.ts';
import { AlreadyExists, BadParameter, CompareFailed, NotFound } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { type Traits, validName } from '../rbac/index.ts';
import type { SsoSubject } from './sso/subjects.ts';
import { type TotpDevice, upgradeTotp } from './totpDevices.ts';
import type { WebauthnDevice } from './webauthn.ts';

export { newTotp, totpCode, totpStep, totpUri } from './totpCodes.ts';

/** A user as stored. The secrets (password hash, TOTP secret) never leave the auth service. */
export interface StoredUser {
  name: string;
  roles: string[];
  traits: Traits;
  createdAt: string;
  passwordHash?: string;
  /** Authenticator apps (TOTP); a record with the single `totp` secret of before is read as one of them. */
  totpDevices?: TotpDevice[];
  /** Security keys (WebAuthn). */
  webauthn?: WebauthnDevice[];
  /** Users created by single sign-on have no password; the connector that made them. */
  sso?: string;
  /** The provider account an SSO user belongs to (only that account's logins act as this user). */
  ssoSubject?: SsoSubject;
  /** Epoch ms until which logins are refused after repeated failures. */
  lockedUntil?: number;
  /** A machine identity (`tp bots add`): no password, never logs in; certificates come from its join and renewals. */
  bot?: { maxTtlMs: number; rejoinBudget?: number };
}

export type { PublicUser };

/**
 * A user as stored, checked when read (see core/backend/json.ts); secrets are checked for shape only. A record
 * with the single `totp` secret of before passes, and is read as one authenticator app (upgradeTotp, on every read).
 */
const StoredUserSchema: v.GenericSchema<unknown, StoredUser> = v.looseObject({
  name: v.string(),
  roles: v.array(v.string()),
  traits: v.record(v.string(), v.array(v.string())),
  createdAt: v.string(),
  passwordHash: v.optional(v.string()),
  totp: v.optional(v.looseObject({ secret: v.string(), lastStep: v.optional(v.number()) })),
  totpDevices: v.optional(
    v.array(
      v.looseObject({
        id: v.string(),
        name: v.string(),
        secret: v.string(),
        addedAt: v.string(),
        lastUsedStep: v.optional(v.number()),
      }),
    ),
  ),
  webauthn: v.optional(
    v.array(
      v.looseObject({
        id: v.string(),
        publicKey: v.string(),
        counter: v.number(),
        transports: v.optional(v.array(v.string())),
        name: v.string(),
        addedAt: v.string(),
      }),
    ),
  ),
  sso: v.optional(v.string()),
  ssoSubject: v.optional(v.looseObject({ issuer: v.string(), subject: v.string() })),
  lockedUntil: v.optional(v.number()),
  bot: v.optional(v.looseObject({ maxTtlMs: v.number(), rejoinBudget: v.optional(v.number()) })),
});

const userKey = (name: string) => `/users/${name}`;
/** A sign-up token as stored: whose it is and the TOTP secret its page offered so far. */
const SignupSchema = v.looseObject({ user: v.string(), totpSecret: v.optional(v.string()) });
const signupKey = (token: string) => `/signup/${createHash('sha256').update(token).digest('hex')}`;

/** The public view of a stored user. */
export function publicUser(u: StoredUser): PublicUser {
  const p: PublicUser = {
    name: u.name,
    roles: u.roles,
    traits: u.traits,
    createdAt: u.createdAt,
    hasPassword: !!u.passwordHash,
    hasTotp: !!u.totpDevices?.length,
    webauthn: (u.webauthn ?? []).map((d) => d.name),
  };
  if (u.sso) p.sso = u.sso;
  if (u.ssoSubject) p.ssoSubject = u.ssoSubject;
  if (u.bot) p.bot = true;
  if (u.lockedUntil) p.lockedUntil = new Date(u.lockedUntil).toISOString();
  return p;
}

/** Passwords: at least 12 characters, at most 1024 (argon2id hashes anything, but unbounded input is a DoS). */
export function checkPasswordPolicy(password: string): void {
  if (password.length < 12) throw new BadParameter('password must be at least 12 characters');
  if (password.length > 1024) throw new BadParameter('password must be at most 1024 characters');
}

/** Hashes a password with argon2id (Bun.password). */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

// A fixed hash to verify against when the user does not exist, so timing does not reveal which names exist.
let dummyHash: Promise<string> | undefined;

/** True if `password` matches; spends the same time when the user or hash is missing. */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (!hash) {
    dummyHash ??= hashPassword('tp-timing-equaliser-not-a-password');
    await Bun.password.verify(password, await dummyHash);
    return false;
  }
  return Bun.password.verify(password, hash);
}

/** User records in the backend. */
export class UserStore {
  constructor(
    private readonly b: Backend,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** Creates a user; throws AlreadyExists when the name is taken. */
  async create(u: StoredUser): Promise<void> {
    if (!validName(u.name))
      throw new BadParameter(`invalid user name "${u.name}": use lowercase letters, digits, - _ .`);
    await this.b.create({ key: userKey(u.name), value: JSON.stringify(u) }).catch((err: unknown) => {
      if (err instanceof AlreadyExists) throw new AlreadyExists(`user "${u.name}" already exists`);
      throw err;
    });
  }

  /** Returns the stored user or undefined. */
  async find(name: string): Promise<StoredUser | undefined> {
    const doc = await getDoc(this.b, userKey(name), StoredUserSchema);
    return doc && upgradeTotp(doc.value);
  }

  /** Returns the stored user or throws NotFound. */
  async get(name: string): Promise<StoredUser> {
    const u = await this.find(name);
    if (!u) throw new NotFound(`user "${name}" not found`);
    return u;
  }

  /** Applies `change` atomically (retrying on concurrent writes) and returns the new record. */
  async update(name: string, change: (u: StoredUser) => StoredUser): Promise<StoredUser> {
    return this.updateUnless<never>(name, change);
  }

  /**
   * Like `update`, but `change` may decline by returning a reason (a string) instead of a record: nothing is
   * written and the reason is returned. The decision is made on the record the write replaces (compare-and-swap,
   * re-read on a concurrent write, at most 20 times).
   */
  async updateUnless<R extends string>(
    name: string,
    change: (u: StoredUser) => StoredUser | R,
  ): Promise<StoredUser | R> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await getDoc(this.b, userKey(name), StoredUserSchema);
      if (!doc) throw new NotFound(`user "${name}" not found`);
      const next = change(upgradeTotp(structuredClone(doc.value)));
      if (typeof next === 'string') return next;
      try {
        await this.b.compareAndSwap({ revision: doc.revision }, { key: userKey(name), value: JSON.stringify(next) });
        return next;
      } catch (err) {
        if (!(err instanceof CompareFailed)) throw err;
      }
    }
    throw new BadParameter(`user "${name}" is being changed concurrently; try again`);
  }

  async list(): Promise<StoredUser[]> {
    return (await listDocs(this.b, '/users/', StoredUserSchema)).map((u) => upgradeTotp(u));
  }

  async remove(name: string): Promise<void> {
    await this.b.delete(userKey(name)).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`user "${name}" not found`);
      throw err;
    });
  }

  /** Makes a one-time sign-up token for `name`, valid for `ttlMs`. */
  async createSignupToken(name: string, now: number, ttlMs: number): Promise<string> {
    const token = this.ids.bytes(24).toString('base64url');
    await this.b.put({ key: signupKey(token), value: JSON.stringify({ user: name }), expires: now + ttlMs });
    return token;
  }

  /** The user a live sign-up token was made for and the TOTP secret offered on it so far; throws NotFound. */
  async peekSignupToken(token: string): Promise<{ user: string; totpSecret?: string }> {
    const item = await this.b.get(signupKey(token));
    if (!item) throw new NotFound('sign-up link is invalid or expired; ask an admin for a new one (`tp users reset`)');
    return decodeDoc(SignupSchema, item.key, item.value);
  }

  /** Remembers the TOTP secret shown on a sign-up page, so reloading it shows the same QR code. */
  async offerSignupTotp(token: string, secret: string): Promise<string> {
    const key = signupKey(token);
    const item = await this.b.get(key);
    if (!item) throw new NotFound('sign-up link is invalid or expired');
    const rec = decodeDoc(SignupSchema, key, item.value);
    if (rec.totpSecret) return rec.totpSecret;
    await this.b.compareAndSwap(
      { revision: item.revision },
      { key, value: JSON.stringify({ ...rec, totpSecret: secret }), expires: item.expires },
    );
    return secret;
  }

  /** Consumes a sign-up token and returns the user it was made for; throws NotFound when unknown or expired. */
  async consumeSignupToken(token: string): Promise<string> {
    const item = await takeOnce(this.b, signupKey(token));
    if (item === 'missing') throw new NotFound('sign-up token is invalid or expired');
    if (item === 'taken') throw new NotFound('sign-up token was already used');
    return decodeDoc(SignupSchema, item.key, item.value).user;
  }
}
