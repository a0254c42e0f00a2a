import type { Clock } from '../clock.ts';
import { parseAuthorizedKey, publicKeyFromBlob } from '../crypto/keys.ts';
import { verifySsh } from '../crypto/sshsig.ts';
import { AccessDenied, Locked, NotFound } from '../errors.ts';
import { botRejoinMessage } from '../identity/botRejoin.ts';
import type { BotInstance, BotInstanceStore } from './botInstances.ts';
import { type LockStore, lockedError } from './locks.ts';
import type { StoredUser, UserStore } from './users.ts';

/** A rejoin: the instance's bound SSH key signs the new TLS key, its generation and its names. */
export interface RejoinRequest {
  bot: string;
  instance: string;
  generation: number;
  sshPublicKey: string;
  tlsPublicKey: string;
  /** base64 SSH signature blob over botRejoinMessage. */
  signature: string;
  ttlMs?: number;
  remoteAddr?: string;
}

/** What a rejoin decided: the instance as stored, or why it was locked (a copied identity). */
export type RejoinOutcome = { user: StoredUser; inst: BotInstance; stolen?: string };

/** What a rejoin decision reads and writes (the bot's user, locks and instances). */
export interface RejoinDeps {
  users: Pick<UserStore, 'find'>;
  locks: Pick<LockStore, 'find'>;
  instances: Pick<BotInstanceStore, 'update'>;
  clock: Clock;
}

/**
 * Checks a rejoin of a bot instance whose certificate may have expired: the key must be the one bound at its join,
 * the signature must verify, a rejoin must be left in its budget, and the generation must be the current one (an
 * older one locks the instance, like a renewal). Spends one rejoin and advances the generation.
 */
export async function decideRejoin(d: RejoinDeps, cluster: string, req: RejoinRequest): Promise<RejoinOutcome> {
  const user = await d.users.find(req.bot);
  if (!user?.bot) throw new NotFound(`bot "${req.bot}" does not exist`);
  const lock = (await d.locks.find({ user: user.name })) ?? (await d.locks.find({ botInstance: req.instance }));
  if (lock) throw lockedError(`bot "${user.name}"`, lock);
  const signed = botRejoinMessage({
    cluster,
    bot: user.name,
    instance: req.instance,
    generation: req.generation,
    tlsPublicKey: req.tlsPublicKey,
  });
  const key = publicKeyFromBlob(parseAuthorizedKey(req.sshPublicKey).blob);
  if (!verifySsh(key, signed, Buffer.from(req.signature, 'base64')))
    throw new AccessDenied('rejoin signature does not verify with the given key');
  const now = d.clock.now();
  let stolen: string | undefined;
  const inst = await d.instances.update(user.name, req.instance, (i) => {
    if (i.locked) throw new Locked(`bot instance ${i.id} is locked: ${i.locked.reason}`);
    if (!i.boundKey || i.boundKey !== req.sshPublicKey)
      throw new AccessDenied(`the key is not the one bound to bot instance ${i.id} at its join`);
    if (req.generation !== i.generation) {
      stolen = `a rejoin of generation ${req.generation} for an instance at generation ${i.generation}: the identity was copied`;
      return { ...i, locked: { at: new Date(now).toISOString(), reason: stolen } };
    }
    if ((i.rejoinsLeft ?? 0) <= 0)
      throw new AccessDenied(
        `bot instance ${i.id} has spent its rejoin budget: make a new join token with \`tp bots token ${user.name.slice(4)}\``,
      );
    return {
      ...i,
      generation: i.generation + 1,
      rejoinsLeft: (i.rejoinsLeft ?? 0) - 1,
      lastKey: req.tlsPublicKey,
      renewedAt: new Date(now).toISOString(),
    };
  });
  return { user, inst, stolen };
}
