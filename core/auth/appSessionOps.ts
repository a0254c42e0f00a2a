import { timingSafeEqual } from 'node:crypto';
import { type AppSessionCreate, type StoredAppSession, StoredAppSessionSchema } from '../api/appSessionSchemas.ts';
import { StoredWebSessionSchema } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { decodeDoc } from '../backend/json.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, CompareFailed, NotFound } from '../errors.ts';
import type { Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';
import { checkProxySessionCall } from './proxyOnly.ts';

const key = (hash: string) => `/app_sessions/${hash}`;
const webKey = (hash: string) => `/web_sessions/${hash}`;

/**
 * App sessions in the backend: a browser's login to one web app, made from (and ending with) one web session, so
 * the user's certificate it carries to the agent is the web session's own. Stored under a hash of the app host's
 * cookie token; usable only once the app host has handed back the launch's state, which it does once. Proxies only.
 */
export class AppSessionOps {
  constructor(private readonly d: { backend: Backend; clock: Clock; emit: Emit }) {}

  private check(who: Identity, hash: string): Promise<void> {
    return checkProxySessionCall(this.d.emit, who, hash, 'app_session');
  }

  /** The live web session behind `hash`, or NotFound (logged out or expired). */
  private async webSession(hash: string) {
    const item = await this.d.backend.get(webKey(hash));
    if (!item) throw new NotFound('the web session this app session came from has ended');
    return decodeDoc(StoredWebSessionSchema, item.key, item.value);
  }

  /** Stores a new, not yet activated app session for a live web session; it expires with that web session. */
  async create(who: Identity, hash: string, req: AppSessionCreate): Promise<StoredAppSession> {
    await this.check(who, hash);
    const web = await this.webSession(req.webSession);
    const now = this.d.clock.now();
    if (web.expires <= now) throw new NotFound('the web session this app session came from has ended');
    const s: StoredAppSession = {
      ...req,
      user: web.user,
      roles: web.who.roles,
      traits: web.who.traits ?? {},
      tlsCertDer: web.tlsCertDer,
      createdAt: now,
      expires: web.expires,
      activated: false,
    };
    await this.d.backend.create({ key: key(hash), value: JSON.stringify(s), expires: s.expires });
    return s;
  }

  /**
   * Activates a session for the app host that presents the launch's state: refused (AccessDenied) for another state
   * or a session already activated, so a launch link replayed later or elsewhere gets nothing.
   */
  async activate(who: Identity, hash: string, stateHash: string): Promise<StoredAppSession> {
    await this.check(who, hash);
    const item = await this.d.backend.get(key(hash));
    if (!item) throw new AccessDenied('this app launch is unknown or has expired: launch the app again');
    const s = decodeDoc(StoredAppSessionSchema, item.key, item.value);
    const a = Buffer.from(s.stateHash);
    const b = Buffer.from(stateHash);
    if (s.activated || a.length !== b.length || !timingSafeEqual(a, b))
      throw new AccessDenied(
        'this app launch was already used or does not belong to this browser: launch the app again',
      );
    await this.webSession(s.webSession);
    const next = { ...s, activated: true };
    try {
      await this.d.backend.compareAndSwap(
        { revision: item.revision },
        { key: item.key, value: JSON.stringify(next), expires: s.expires },
      );
    } catch (err) {
      if (err instanceof CompareFailed || err instanceof NotFound)
        throw new AccessDenied('this app launch was already used: launch the app again');
      throw err;
    }
    return next;
  }

  /** The live, activated session; NotFound when unknown, not activated, ended, or its web session has ended. */
  async get(who: Identity, hash: string): Promise<StoredAppSession> {
    await this.check(who, hash);
    const item = await this.d.backend.get(key(hash));
    if (!item) throw new NotFound('no such app session');
    const s = decodeDoc(StoredAppSessionSchema, item.key, item.value);
    if (!s.activated || s.expires <= this.d.clock.now()) throw new NotFound('no such app session');
    await this.webSession(s.webSession);
    return s;
  }

  /** Ends a session (`/tp-logout`); ending an unknown one is not an error. */
  async delete(who: Identity, hash: string): Promise<void> {
    await this.check(who, hash);
    await this.d.backend.delete(key(hash)).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
  }
}
