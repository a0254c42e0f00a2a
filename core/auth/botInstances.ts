import * as v from 'valibot';
import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import { CompareFailed, NotFound } from '../errors.ts';

/** One `tp bot start` join of a bot: its own ID and renewal generation, locked on its own when copied. */
export interface BotInstance {
  id: string;
  bot: string;
  /** Incremented by every renewal; the current certificate carries the same number. */
  generation: number;
  /** TLS public key of the latest certificate issued (a lost answer to a renewal may be asked for again). */
  lastKey: string;
  createdAt: string;
  renewedAt: string;
  /** The SSH public key registered at join: it signs rejoins after the certificate expired. */
  boundKey?: string;
  /** Rejoins left (from the bot's `--rejoin-budget`). */
  rejoinsLeft?: number;
  /** Set when the instance was locked (a certificate of an older generation tried to renew). */
  locked?: { at: string; reason: string };
}

/** An instance as stored, checked when read (see core/backend/json.ts). */
const BotInstanceSchema: v.GenericSchema<unknown, BotInstance> = v.looseObject({
  id: v.string(),
  bot: v.string(),
  generation: v.number(),
  lastKey: v.string(),
  createdAt: v.string(),
  renewedAt: v.string(),
  boundKey: v.optional(v.string()),
  rejoinsLeft: v.optional(v.number()),
  locked: v.optional(v.looseObject({ at: v.string(), reason: v.string() })),
});

const key = (bot: string, id: string) => `/bot_instances/${bot}/${id}`;

/** Bot instances in the backend, each updated by compare-and-swap so two renewals cannot both advance it. */
export class BotInstanceStore {
  constructor(private readonly b: Backend) {}

  /** Stores a new instance (IDs are fresh UUIDs: a clash is a bug and throws). */
  async create(i: BotInstance): Promise<void> {
    await this.b.create({ key: key(i.bot, i.id), value: JSON.stringify(i) });
  }

  /** The instance, or undefined when it does not exist (bot removed). */
  async find(bot: string, id: string): Promise<BotInstance | undefined> {
    return (await getDoc(this.b, key(bot, id), BotInstanceSchema))?.value;
  }

  /** Every instance of `bot`. */
  list(bot: string): Promise<BotInstance[]> {
    return listDocs(this.b, `/bot_instances/${bot}/`, BotInstanceSchema);
  }

  /**
   * Applies `change` to the instance as read, only if nobody changed it in between; returns the stored result.
   * `change` may throw to refuse (nothing is written then).
   */
  async update(bot: string, id: string, change: (i: BotInstance) => BotInstance): Promise<BotInstance> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const doc = await getDoc(this.b, key(bot, id), BotInstanceSchema);
      if (!doc) throw new NotFound(`bot instance ${id} of "${bot}" not found (was the bot removed?)`);
      const next = change(doc.value);
      try {
        await this.b.compareAndSwap({ revision: doc.revision }, { key: key(bot, id), value: JSON.stringify(next) });
        return next;
      } catch (err) {
        if (!(err instanceof CompareFailed)) throw err;
      }
    }
    throw new CompareFailed(`bot instance ${id} of "${bot}" is contended; try again`);
  }

  /** Deletes every instance of `bot`. */
  async removeAll(bot: string): Promise<void> {
    for (const item of await this.b.range(`/bot_instances/${bot}/`)) {
      await this.b.delete(item.key).catch((err: unknown) => {
        if (!(err instanceof NotFound)) throw err;
      });
    }
  }
}
