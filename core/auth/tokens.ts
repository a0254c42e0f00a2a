import { createHash } from 'node:crypto';
import { type StoredToken, StoredTokenSchema, type TokenRole } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import { AccessDenied, CompareFailed, NotFound } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';

export type { StoredToken, TokenRole };

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const tokenKey = (hash: string) => `/tokens/${hash}`;

/** Join tokens in the backend; expired tokens vanish through the backend's TTL. */
export class TokenStore {
  constructor(
    private readonly b: Backend,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** Makes a token and returns its secret value (shown once) with the stored record. */
  async create(
    roles: TokenRole[],
    uses: 'single' | 'multi',
    now: number,
    ttlMs: number,
    bot?: string,
  ): Promise<{ token: string; record: StoredToken }> {
    const token = this.ids.bytes(24).toString('base64url');
    const hash = hashOf(token);
    const record: StoredToken = {
      id: hash.slice(0, 12),
      hash,
      roles,
      uses,
      usedBy: [],
      createdAt: new Date(now).toISOString(),
      expires: now + ttlMs,
    };
    if (bot) record.bot = bot;
    await this.b.create({ key: tokenKey(hash), value: JSON.stringify(record), expires: record.expires });
    return { token, record };
  }

  async list(): Promise<StoredToken[]> {
    return listDocs(this.b, '/tokens/', StoredTokenSchema);
  }

  /** Deletes by token value or by its public ID. */
  async remove(tokenOrId: string): Promise<StoredToken> {
    const all = await this.list();
    const found = all.find((t) => t.hash === hashOf(tokenOrId) || t.id === tokenOrId);
    if (!found) throw new NotFound('no such token (give the token or its ID from `tp tokens ls`)');
    await this.b.delete(tokenKey(found.hash));
    return found;
  }

  /**
   * Spends one use of a token for `role` by `who`; throws AccessDenied when it is unknown, expired, of
   * another role, or a single-use token already spent (atomically: two racing joins cannot both win).
   */
  async consume(token: string, role: TokenRole, who: string): Promise<StoredToken> {
    const key = tokenKey(hashOf(token));
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await getDoc(this.b, key, StoredTokenSchema);
      if (!doc) throw new AccessDenied('join token is invalid or expired');
      const t = doc.value;
      if (!t.roles.includes(role)) throw new AccessDenied(`join token is for ${t.roles.join(',')}, not ${role}`);
      if (t.uses === 'single' && t.usedBy.length > 0)
        throw new AccessDenied('join token was already used (single-use)');
      const next = { ...t, usedBy: [...t.usedBy, who] };
      try {
        await this.b.compareAndSwap(
          { revision: doc.revision },
          { key, value: JSON.stringify(next), expires: t.expires },
        );
        return next;
      } catch (err) {
        if (!(err instanceof CompareFailed || err instanceof NotFound)) throw err;
      }
    }
    throw new AccessDenied('join token is contended; try again');
  }
}
