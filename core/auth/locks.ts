import { type LockTarget, type StoredLock, StoredLockSchema } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { listDocs } from '../backend/json.ts';
import { BadParameter, Locked, NotFound } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { type LockSubject, lockApplies } from '../rbac/index.ts';

export type { LockTarget, StoredLock };

/** The refusal for something a lock covers, e.g. `user "alice" is locked: laptop lost`. */
export function lockedError(what: string, lock: StoredLock): Locked {
  return new Locked(`${what} is locked${lock.message ? `: ${lock.message}` : ' by an administrator'}`);
}

/** Locks in the backend. */
export class LockStore {
  constructor(
    private readonly b: Backend,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** Adds a lock; exactly one of user/node/botInstance/resource must be set. */
  async create(target: LockTarget, message: string, by: string, now: number, ttlMs?: number): Promise<StoredLock> {
    if ([target.user, target.node, target.botInstance, target.resource].filter(Boolean).length !== 1)
      throw new BadParameter('a lock targets exactly one of --user, --node or --resource');
    const lock: StoredLock = {
      id: this.ids.bytes(8).toString('hex'),
      target,
      message,
      createdAt: new Date(now).toISOString(),
      createdBy: by,
    };
    if (ttlMs !== undefined) lock.expires = now + ttlMs;
    await this.b.create({ key: `/locks/${lock.id}`, value: JSON.stringify(lock), expires: lock.expires });
    return lock;
  }

  async list(): Promise<StoredLock[]> {
    return listDocs(this.b, '/locks/', StoredLockSchema);
  }

  async remove(id: string): Promise<void> {
    await this.b.delete(`/locks/${id}`).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`lock "${id}" not found`);
      throw err;
    });
  }

  /** The first live lock that applies to this user or node, if any. */
  async find(subject: LockSubject): Promise<StoredLock | undefined> {
    return (await this.list()).find((l) => lockApplies(l, subject));
  }
}
