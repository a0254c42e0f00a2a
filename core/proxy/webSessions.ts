import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApiClient } from '../api/client.ts';
import { AckSchema, StoredWebSessionSchema } from '../api/schemas.ts';
import { identityFromCert } from '../auth/identity.ts';
import type { StoredWebSession } from '../auth/webSessionOps.ts';
import { type IssuedCerts, newClientKeys } from '../client/login.ts';
import { systemClock } from '../clock.ts';
import { encodeOpenSSHPrivateKey } from '../crypto/keys.ts';
import { AccessDenied, NotFound, Unauthenticated } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';

/** The cookie holding a browser's session token: host-only, HTTPS-only, invisible to scripts, same-site only. */
export const SESSION_COOKIE = '__Host-tp_session';
/** The header every state-changing web request must carry with the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

/** A browser's login: the user's certificates for keys the proxy made for it. Never reaches the browser. */
export type WebSession = StoredWebSession;

/** Fresh keys for a web login: the public halves to certify, and the SSH private key the session keeps. */
export interface WebKeys {
  sshPublicKey: string;
  tlsPublicKey: string;
  sshKey: string;
}

/** Makes the key pair a web session's certificates will be issued for (the same kinds `tp login` makes). */
export function newWebKeys(): WebKeys {
  const k = newClientKeys();
  return {
    sshPublicKey: k.sshPublicKey,
    tlsPublicKey: k.tlsPublicKey,
    sshKey: encodeOpenSSHPrivateKey(k.ssh.privateKey, 'tp-web'),
  };
}

/** What auth answers to a login: the certificates and who they name. */
export type IssuedLogin = Pick<IssuedCerts, 'username' | 'logins' | 'sshCert' | 'tlsCert'> & { expires: string };

/** The name a session token is kept under at auth (a leaked backend row is not a cookie). */
export const sessionHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** The value of cookie `name` on `req`, if it carries one. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return rest.join('=');
  }
  return undefined;
}

/** The cookie value of `req`'s session, if any. */
export function sessionToken(req: IncomingMessage): string | undefined {
  return cookieValue(req, SESSION_COOKIE);
}

/** `Set-Cookie` for a new session token (expires with the session) or, with no token, one that clears it. */
export function sessionCookie(token: string | undefined, maxAgeMs = 0): string {
  const base = `${SESSION_COOKIE}=${token ?? ''}; Path=/; Secure; HttpOnly; SameSite=Strict`;
  return `${base}; Max-Age=${token ? Math.max(0, Math.floor(maxAgeMs / 1000)) : 0}`;
}

/** Where sessions live: auth's backend, so every proxy sees them and a restart logs nobody out. */
export interface SessionBackend {
  put(hash: string, s: WebSession): Promise<void>;
  /** The session, or undefined when auth does not know it (logged out, expired). */
  get(hash: string): Promise<WebSession | undefined>;
  delete(hash: string): Promise<void>;
}

/** Sessions kept by auth, reached with the proxy's identity. */
export function authSessionBackend(auth: ApiClient): SessionBackend {
  return {
    put: async (hash, s) => {
      await auth.send(AckSchema, 'POST', `/v1/web_sessions/${hash}`, s);
    },
    get: (hash) =>
      auth.send(StoredWebSessionSchema, 'GET', `/v1/web_sessions/${hash}`).catch((err: unknown) => {
        if (err instanceof NotFound) return undefined;
        throw err;
      }),
    delete: async (hash) => {
      await auth.send(AckSchema, 'DELETE', `/v1/web_sessions/${hash}`);
    },
  };
}

/** How long a session read from auth is trusted before asking again (a logout elsewhere lands within this). */
const CACHE_MS = 5_000;

/**
 * Web sessions: kept by auth under a hash of the cookie token (a leaked backend row is not a cookie), cached
 * here for a few seconds. A session ends at logout or when its certificates expire.
 */
export class WebSessionStore {
  private readonly cache = new Map<string, { s: WebSession; at: number }>();

  constructor(
    private readonly backend: SessionBackend,
    private readonly now: () => number = systemClock.now,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** How long the session has left (ms) by this store's clock: the cookie's Max-Age. */
  msLeft(s: WebSession): number {
    return s.expires - this.now();
  }

  /** Stores a session for a completed login and returns its cookie token. */
  async create(
    login: IssuedLogin,
    /** The OpenSSH private key the certificates were issued for. */
    sshKey: string,
  ): Promise<{ token: string; session: WebSession }> {
    this.sweep();
    const token = this.ids.bytes(32).toString('base64url');
    const cert = new X509Certificate(login.tlsCert);
    const session: WebSession = {
      user: login.username,
      who: identityFromCert(cert.raw),
      logins: login.logins,
      csrf: this.ids.bytes(24).toString('base64url'),
      createdAt: this.now(),
      expires: Date.parse(login.expires),
      sshKey,
      sshCert: login.sshCert,
      tlsCertDer: cert.raw.toString('base64'),
    };
    await this.backend.put(sessionHash(token), session);
    this.cache.set(sessionHash(token), { s: session, at: this.now() });
    return { token, session };
  }

  /**
   * The live session of a token, or undefined (unknown, logged out or expired). While auth cannot be reached, a
   * session this proxy already knows keeps working until it expires.
   */
  async find(token: string | undefined): Promise<WebSession | undefined> {
    if (!token) return undefined;
    const key = sessionHash(token);
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.s.expires <= now) {
      this.cache.delete(key);
      return undefined;
    }
    if (hit && now - hit.at < CACHE_MS) return hit.s;
    let s: WebSession | undefined;
    try {
      s = await this.backend.get(key);
    } catch (err) {
      if (hit) return hit.s;
      throw err;
    }
    if (!s || s.expires <= now) {
      this.cache.delete(key);
      return undefined;
    }
    this.cache.set(key, { s, at: now });
    return s;
  }

  /**
   * The session of a request, or Unauthenticated. Requests that change state must also carry the session's
   * CSRF token in a header and, when the browser names one, come from `origin`.
   */
  async require(req: IncomingMessage, origin: string): Promise<WebSession> {
    const s = await this.find(sessionToken(req));
    if (!s) throw new Unauthenticated('your web session has expired or you are not logged in; log in again');
    if (req.method !== 'GET' && req.method !== 'HEAD') checkCsrf(req, s, origin);
    return s;
  }

  /** Ends a session (logout) here and at auth. */
  async delete(token: string | undefined): Promise<void> {
    if (!token) return;
    this.cache.delete(sessionHash(token));
    await this.backend.delete(sessionHash(token));
  }

  /** Sessions this proxy has seen recently. */
  get size(): number {
    return this.cache.size;
  }

  /** Forgets expired sessions. */
  sweep(): void {
    const now = this.now();
    for (const [k, c] of this.cache) if (c.s.expires <= now) this.cache.delete(k);
  }
}

/** Throws AccessDenied unless `req` carries the session's CSRF token and, if it names an origin, ours. */
export function checkCsrf(req: IncomingMessage, s: WebSession, origin: string): void {
  checkOrigin(req, origin);
  const sent = req.headers[CSRF_HEADER];
  const a = Buffer.from(typeof sent === 'string' ? sent : '');
  const b = Buffer.from(s.csrf);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new AccessDenied('missing or wrong CSRF token: reload the page');
}

/** Throws AccessDenied when the browser says the request comes from another site. */
export function checkOrigin(req: IncomingMessage, origin: string): void {
  const from = req.headers.origin;
  if (from !== undefined && from !== origin && from !== `https://${req.headers.host}`)
    throw new AccessDenied(`cross-site request from ${from} refused`);
}
