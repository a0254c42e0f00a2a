import type { BotView } from '../api/botSchemas.ts';
import type { PublicToken } from '../api/schemas.ts';
import type { Clock } from '../clock.ts';
import type { BotCertInfo } from '../crypto/x509.ts';
import { AlreadyExists, BadParameter, NotFound } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { BotInstanceStore } from './botInstances.ts';
import type { LoginResponse } from './certOps.ts';
import type { Identity } from './identity.ts';
import type { LockStore } from './locks.ts';
import type { RoleStore } from './roles.ts';
import type { TokenStore } from './tokens.ts';
import type { StoredUser, UserStore } from './users.ts';

/** A bot's user name: bots share the user namespace under a prefix, so no person can be named like one. */
export const botUser = (name: string) => `bot-${name}`;

/** Who created the lock that stops a deleted bot's certificates. */
const BOT_DELETED_LOCK_OWNER = 'auth:bot-deleted';

/** Who created the lock of a bot instance whose identity was copied. */
export const BOT_THEFT_LOCK_OWNER = 'auth:bot-generation';

/** How long a bot's join token lives when `tp bots add` is not told. */
const DEFAULT_TOKEN_TTL_MS = 60 * 60_000;

/** What bot management, join and renewal read and write. */
export interface BotOpsDeps {
  ids: IdSource;
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  cluster: string;
  users: UserStore;
  roles: Pick<RoleStore, 'rolesOf'>;
  tokens: TokenStore;
  locks: LockStore;
  instances: BotInstanceStore;
  /** Issues a user's certificates (CertOps.certsFor), with the bot's instance and generation inside. */
  issue(
    user: StoredUser,
    sshPublicKey: string,
    tlsPublicKey: string,
    ttlMs: number | undefined,
    now: number,
    bot: BotCertInfo,
  ): Promise<LoginResponse>;
}

/** Keys a bot presents at join and renewal; its private keys never leave its machine. */
export interface BotKeys {
  sshPublicKey: string;
  tlsPublicKey: string;
  ttlMs?: number;
  remoteAddr?: string;
}

/** Bot management (admins): machine users with fixed roles, their join tokens, instances and locks. */
export class BotOps {
  constructor(private readonly d: BotOpsDeps) {}

  /** Creates bot `name` (a user with no password) and a single-use join token for it (shown once). */
  async add(
    who: Identity,
    req: {
      name: string;
      roles: string[];
      logins?: string[];
      ttlMs?: number;
      tokenTtlMs?: number;
      rejoinBudget?: number;
    },
  ): Promise<{ bot: BotView; token: string; tokenExpires: string }> {
    await this.d.authz.authorize(who, 'user', 'create');
    const known = await this.d.roles.rolesOf(req.roles);
    const unknown = req.roles.filter((r) => !known.some((k) => k.metadata.name === r));
    if (unknown.length) throw new NotFound(`unknown role(s): ${unknown.join(', ')} (see \`tp roles ls\`)`);
    const now = this.d.clock.now();
    const deleted = (await this.d.locks.list()).find(
      (l) => l.target.user === botUser(req.name) && l.createdBy === BOT_DELETED_LOCK_OWNER,
    );
    if (deleted)
      throw new AlreadyExists(
        `a bot "${req.name}" was deleted and its certificates are locked until ${new Date(deleted.expires ?? now).toISOString()}: ` +
          `choose another name, or remove lock ${deleted.id} (\`tp locks rm ${deleted.id}\`) to reuse it now`,
      );
    const user: StoredUser = {
      name: botUser(req.name),
      roles: req.roles,
      traits: { logins: req.logins ?? [] },
      createdAt: new Date(now).toISOString(),
      bot: { maxTtlMs: req.ttlMs ?? 60 * 60_000, rejoinBudget: req.rejoinBudget ?? 0 },
    };
    await this.d.users.create(user).catch((err: unknown) => {
      if (err instanceof AlreadyExists) throw new AlreadyExists(`bot "${req.name}" already exists`);
      throw err;
    });
    const t = await this.d.tokens.create(['bot'], 'single', now, req.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS, user.name);
    await this.d.emit({ type: 'bot.create', user: who.name, bot: req.name, roles: req.roles, token_id: t.record.id });
    return {
      bot: await this.view(user),
      token: t.token,
      tokenExpires: new Date(t.record.expires).toISOString(),
    };
  }

  /** Another single-use join token for an existing bot (each join makes a new instance). */
  async newToken(
    who: Identity,
    name: string,
    ttlMs?: number,
  ): Promise<{ token: string; tokenExpires: string; record: PublicToken }> {
    await this.d.authz.authorize(who, 'user', 'update');
    const user = await this.botNamed(name);
    const now = this.d.clock.now();
    const t = await this.d.tokens.create(['bot'], 'single', now, ttlMs ?? DEFAULT_TOKEN_TTL_MS, user.name);
    await this.d.emit({ type: 'token.create', user: who.name, bot: name, roles: ['bot'], token_id: t.record.id });
    const { hash: _hash, ...record } = t.record;
    return { token: t.token, tokenExpires: new Date(t.record.expires).toISOString(), record };
  }

  /** Every bot with its instances. */
  async list(who: Identity): Promise<BotView[]> {
    await this.d.authz.authorize(who, 'user', 'list');
    const bots = (await this.d.users.list()).filter((u) => u.bot);
    return Promise.all(bots.map((u) => this.view(u)));
  }

  /** Deletes the bot, its instances and its unused tokens; its live certificates stop at once (a user lock). */
  async remove(who: Identity, name: string): Promise<void> {
    await this.d.authz.authorize(who, 'user', 'delete');
    const user = await this.botNamed(name);
    await this.d.instances.removeAll(user.name);
    for (const t of await this.d.tokens.list()) if (t.bot === user.name) await this.d.tokens.remove(t.id);
    await this.d.users.remove(user.name);
    await this.d.locks.create(
      { user: user.name },
      `bot "${name}" was deleted`,
      BOT_DELETED_LOCK_OWNER,
      this.d.clock.now(),
      user.bot!.maxTtlMs,
    );
    await this.d.emit({ type: 'bot.delete', user: who.name, bot: name });
  }

  /** Locks every instance of the bot (a user lock: proxies and nodes refuse its certificates, renewals stop). */
  async lock(who: Identity, name: string, message: string): Promise<{ lockId: string }> {
    await this.d.authz.authorize(who, 'lock', 'create');
    const user = await this.botNamed(name);
    const lock = await this.d.locks.create({ user: user.name }, message, who.name, this.d.clock.now());
    await this.d.emit({
      type: 'bot.locked',
      user: who.name,
      bot: name,
      reason: message || 'locked by an administrator',
    });
    return { lockId: lock.id };
  }

  private async botNamed(name: string): Promise<StoredUser> {
    const user = await this.d.users.find(botUser(name));
    if (!user?.bot) throw new NotFound(`no bot "${name}" (see \`tp bots ls\`)`);
    return user;
  }

  private async view(u: StoredUser): Promise<BotView> {
    const instances = await this.d.instances.list(u.name);
    return {
      name: u.name.slice('bot-'.length),
      user: u.name,
      roles: u.roles,
      logins: u.traits.logins ?? [],
      maxTtlMs: u.bot?.maxTtlMs ?? 0,
      createdAt: u.createdAt,
      instances: instances.map(({ id, generation, createdAt, renewedAt, locked }) => ({
        id,
        generation,
        createdAt,
        renewedAt,
        ...(locked ? { locked } : {}),
      })),
    };
  }
}

/** Refuses a bot name that would not make a valid user name. */
export function checkBotName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_.-]{0,58}$/.test(name))
    throw new BadParameter(`bot name "${name}" must be lowercase letters, digits, - _ . (up to 59)`);
}
