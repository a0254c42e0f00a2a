import { AccessDenied, Locked, NotFound } from '../errors.ts';
import type { BotInstance } from './botInstances.ts';
import { BOT_THEFT_LOCK_OWNER, type BotKeys, type BotOpsDeps } from './botOps.ts';
import { decideRejoin, type RejoinRequest } from './botRejoin.ts';
import type { LoginResponse } from './certOps.ts';
import type { Identity } from './identity.ts';
import { lockedError } from './locks.ts';
import type { StoredUser } from './users.ts';

/**
 * How a bot instance gets its certificates: the token join, renewal with the current certificate (the generation
 * advances; an older one locks the instance), and the rejoin with its bound key after an outage.
 */
export class BotIdentityOps {
  constructor(private readonly d: BotOpsDeps) {}

  /** Spends a bot's join token: a new instance at generation 1 and its first certificates. */
  async join(req: BotKeys & { token: string }): Promise<LoginResponse & { instance: string }> {
    const now = this.d.clock.now();
    let user: StoredUser;
    try {
      const t = await this.d.tokens.consume(req.token, 'bot', 'bot');
      if (!t.bot) throw new AccessDenied('join token names no bot');
      user = await this.d.users.get(t.bot);
      if (!user.bot) throw new AccessDenied(`join token is for "${t.bot}", which is not a bot`);
      const lock = await this.d.locks.find({ user: user.name });
      if (lock) throw lockedError(`bot "${user.name}"`, lock);
    } catch (err) {
      await this.d.emit({
        type: 'bot.join',
        success: false,
        error: (err as Error).message,
        'addr.remote': req.remoteAddr,
      });
      throw err;
    }
    return this.startInstance(user, req, now, { method: 'token' });
  }

  /**
   * Starts a new instance of bot `user` (already proven by a token or an ID token) at generation 1, issues its first
   * certificates and audits the join with `fields` (the method, the matched rule ...).
   */
  async startInstance(
    user: StoredUser,
    req: BotKeys,
    now: number,
    fields: Record<string, unknown>,
  ): Promise<LoginResponse & { instance: string }> {
    const inst: BotInstance = {
      id: this.d.ids.uuid(),
      bot: user.name,
      generation: 1,
      lastKey: req.tlsPublicKey,
      boundKey: req.sshPublicKey,
      rejoinsLeft: user.bot?.rejoinBudget ?? 0,
      createdAt: new Date(now).toISOString(),
      renewedAt: new Date(now).toISOString(),
    };
    await this.d.instances.create(inst);
    const certs = await this.issue(user, inst, req, now);
    await this.d.emit({
      type: 'bot.join',
      user: user.name,
      instance: inst.id,
      ...fields,
      'addr.remote': req.remoteAddr,
    });
    return { ...certs, instance: inst.id };
  }

  /**
   * Renews a bot instance's certificates, presented with its current one: the generation advances by one. A
   * certificate of an older generation means the identity was copied; that instance is locked and audited (other
   * instances of the bot go on). Asking again with the key of the latest issue (its answer was lost) is not theft.
   */
  async renew(who: Identity, req: BotKeys): Promise<LoginResponse & { instance: string }> {
    if (who.kind !== 'user' || !who.bot) throw new AccessDenied('only a bot certificate renews a bot');
    const b = who.bot;
    const now = this.d.clock.now();
    const fail = async (err: Error): Promise<never> => {
      await this.d.emit({
        type: 'bot.renew',
        success: false,
        user: who.name,
        instance: b.instance,
        error: err.message,
      });
      throw err;
    };
    const user = await this.d.users.find(who.name);
    if (!user?.bot || user.name !== b.name) return fail(new NotFound(`bot "${who.name}" no longer exists`));
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) return fail(lockedError(`bot "${user.name}"`, lock));
    let stolen: string | undefined;
    let inst: BotInstance;
    try {
      inst = await this.d.instances.update(user.name, b.instance, (i) => {
        if (i.locked) throw new Locked(`bot instance ${i.id} is locked: ${i.locked.reason}`);
        const retry = b.generation === i.generation - 1 && req.tlsPublicKey === i.lastKey;
        if (retry) return i;
        if (b.generation !== i.generation) {
          stolen = `a certificate of generation ${b.generation} tried to renew instance at generation ${i.generation}: the identity was copied`;
          return { ...i, locked: { at: new Date(now).toISOString(), reason: stolen } };
        }
        return {
          ...i,
          generation: i.generation + 1,
          lastKey: req.tlsPublicKey,
          renewedAt: new Date(now).toISOString(),
        };
      });
    } catch (err) {
      return fail(err as Error);
    }
    if (stolen) {
      // Its current certificates stop too, everywhere (proxies and nodes check this lock); other instances go on.
      await this.d.locks.create(
        { botInstance: inst.id },
        `bot instance ${inst.id} is locked: ${stolen}`,
        BOT_THEFT_LOCK_OWNER,
        now,
      );
      await this.d.emit({ type: 'bot.locked', user: user.name, bot: user.name, instance: inst.id, reason: stolen });
      return fail(new Locked(`bot instance ${inst.id} is locked: ${stolen}`));
    }
    const certs = await this.issue(user, inst, req, now);
    await this.d.emit({ type: 'bot.renew', user: user.name, instance: inst.id, generation: inst.generation });
    return { ...certs, instance: inst.id };
  }

  /**
   * Rejoins an instance whose certificate expired (or is about to), proven by its bound key, while its rejoin
   * budget lasts (decideRejoin). A rejoin of an older generation locks the instance like a renewal does.
   */
  async rejoin(req: RejoinRequest): Promise<LoginResponse & { instance: string }> {
    const now = this.d.clock.now();
    const fail = async (err: Error): Promise<never> => {
      await this.d.emit({
        type: 'bot.join',
        success: false,
        user: req.bot,
        instance: req.instance,
        method: 'rejoin',
        error: err.message,
        'addr.remote': req.remoteAddr,
      });
      throw err;
    };
    let out: Awaited<ReturnType<typeof decideRejoin>>;
    try {
      out = await decideRejoin(this.d, this.d.cluster, req);
    } catch (err) {
      return fail(err as Error);
    }
    if (out.stolen) {
      await this.d.locks.create(
        { botInstance: out.inst.id },
        `bot instance ${out.inst.id} is locked: ${out.stolen}`,
        BOT_THEFT_LOCK_OWNER,
        now,
      );
      await this.d.emit({
        type: 'bot.locked',
        user: out.user.name,
        bot: out.user.name,
        instance: out.inst.id,
        reason: out.stolen,
      });
      return fail(new Locked(`bot instance ${out.inst.id} is locked: ${out.stolen}`));
    }
    const certs = await this.issue(out.user, out.inst, req, now);
    await this.d.emit({
      type: 'bot.join',
      user: out.user.name,
      instance: out.inst.id,
      method: 'rejoin',
      rejoins_left: out.inst.rejoinsLeft,
      'addr.remote': req.remoteAddr,
    });
    return { ...certs, instance: out.inst.id };
  }

  private issue(user: StoredUser, inst: BotInstance, k: BotKeys, now: number): Promise<LoginResponse> {
    const info = { name: user.name, instance: inst.id, generation: inst.generation };
    return this.d.issue(user, k.sshPublicKey, k.tlsPublicKey, k.ttlMs, now, info);
  }
}
