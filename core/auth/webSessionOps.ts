import type * as v from 'valibot';
import { StoredWebSessionSchema } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { decodeDoc } from '../backend/json.ts';
import type { Clock } from '../clock.ts';
import { BadParameter, NotFound } from '../errors.ts';
import type { Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';
import { checkProxySessionCall } from './proxyOnly.ts';

/**
 * A browser's login as proxies keep it: the user's certificates and the private key they were issued for, with
 * the CSRF token. Stored under a hash of the cookie token; it expires with the certificates. Its type is the wire
 * schema's (`GET /v1/web_sessions/:hash`), so what auth stores and what a proxy parses are one shape.
 */
export type StoredWebSession = v.InferOutput<typeof StoredWebSessionSchema>;

const key = (hash: string) => `/web_sessions/${hash}`;

/**
 * Web sessions in the backend, so every proxy of a cluster knows every browser's session and a proxy restart
 * logs nobody out. Only proxies (and admins) may touch them: they hold private keys.
 */
export class WebSessionOps {
  constructor(private readonly d: { backend: Backend; clock: Clock; emit: Emit }) {}

  private check(who: Identity, hash: string): Promise<void> {
    return checkProxySessionCall(this.d.emit, who, hash, 'web_session');
  }

  /** Stores a new session; it expires with its certificates. */
  async put(who: Identity, hash: string, session: StoredWebSession): Promise<void> {
    await this.check(who, hash);
    if (session.expires <= this.d.clock.now()) throw new BadParameter('this web session has already expired');
    await this.d.backend.put({ key: key(hash), value: JSON.stringify(session), expires: session.expires });
  }

  /** The live session, or NotFound (unknown, logged out or expired). */
  async get(who: Identity, hash: string): Promise<StoredWebSession> {
    await this.check(who, hash);
    const item = await this.d.backend.get(key(hash));
    if (!item) throw new NotFound('no such web session');
    return decodeDoc(StoredWebSessionSchema, item.key, item.value);
  }

  /** Ends a session (logout); ending an unknown one is not an error. */
  async delete(who: Identity, hash: string): Promise<void> {
    await this.check(who, hash);
    await this.d.backend.delete(key(hash)).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err; // already expired or logged out on another proxy
    });
  }
}
