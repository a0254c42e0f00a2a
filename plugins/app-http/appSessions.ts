// App sessions as the proxy's app hosts see them: the cookie token's session at auth, cached for a few seconds.
import { createHash } from 'node:crypto';
import { type StoredAppSession, StoredAppSessionSchema } from '../../core/api/appSessionSchemas.ts';
import { parseAnswer } from '../../core/api/client.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import { NotFound } from '../../core/errors.ts';
import type { ProxyPluginContext } from '../../core/plugin/types.ts';

/** The cookie holding an app session on the app's own host: host-only, HTTPS-only, invisible to scripts. */
export const APP_SESSION_COOKIE = '__Host-tp_app_session';
/** The cookie holding a launch's state on the app host, until the launcher hands the session back. */
export const APP_STATE_COOKIE = '__Host-tp_app_state';

/** How long a session read from auth is trusted before asking again (a logout elsewhere lands within this). */
const CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

/** SHA-256 hex of a token: what auth keeps it under. */
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** `Set-Cookie` for an app host cookie `name` living `maxAgeMs` (0 clears it). */
export function hostCookie(name: string, value: string, maxAgeMs: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`;
}

/** The value of cookie `name` in a `Cookie` header's values, if sent. */
export function cookieIn(headers: string[], name: string): string | undefined {
  for (const h of headers)
    for (const part of h.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
    }
  return undefined;
}

/** A `Cookie` header without tp's own cookies (the app never sees them); undefined when nothing is left. */
export function withoutTpCookies(value: string): string | undefined {
  const kept = value
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !/^__Host-tp_/.test(p));
  return kept.length ? kept.join('; ') : undefined;
}

/** App sessions at auth, read through the proxy's identity. */
export class AppSessionCache {
  private readonly cache = new Map<string, { s: StoredAppSession; at: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** The cache's clock now (epoch ms). */
  now(): number {
    return this.clock.now();
  }

  /** The live session of `token` or undefined (unknown, not activated, logged out, its web session ended). */
  async find(ctx: ProxyPluginContext, token: string): Promise<StoredAppSession | undefined> {
    const key = tokenHash(token);
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.s.expires > now && now - hit.at < CACHE_MS) return hit.s;
    this.cache.delete(key);
    try {
      const s = await ctx.call('GET', `/v1/app_sessions/${key}`, undefined, (j) =>
        parseAnswer(StoredAppSessionSchema, j, 'GET /v1/app_sessions'),
      );
      if (s.expires <= now) return undefined;
      if (this.cache.size >= MAX_CACHED) this.sweep(now);
      this.cache.set(key, { s, at: now });
      return s;
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  /** Forgets a session here (it was ended). */
  forget(token: string): void {
    this.cache.delete(tokenHash(token));
  }

  private sweep(now: number): void {
    for (const [k, c] of this.cache) if (c.s.expires <= now || now - c.at >= CACHE_MS) this.cache.delete(k);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
  }
}
