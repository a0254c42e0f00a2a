import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Identity, identityFromCert } from '../auth/identity.ts';
import { encodeOpenSSHPrivateKey, formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../crypto/keys.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';

/** The cookie holding a browser's session token: host-only, HTTPS-only, invisible to scripts, same-site only. */
export const SESSION_COOKIE = '__Host-tp_session';
/** The header every state-changing web request must carry with the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

/** A browser's login: the user's certificates for keys the proxy made for it. Never leaves the proxy. */
export interface WebSession {
  user: string;
  /** The identity the certificates carry (roles, traits), as the SSH relay would see it. */
  who: Identity;
  logins: string[];
  /** Anti-CSRF token the page sends back in a header. */
  csrf: string;
  createdAt: number;
  /** Epoch ms: the certificates' expiry. */
  expires: number;
  /** OpenSSH private key (PEM) and certificate line, for the web terminal's SSH connection to nodes. */
  sshKey: string;
  sshCert: string;
  /** The X.509 certificate (base64 DER) the proxy forwards to auth for the user's own API calls. */
  tlsCertDer: string;
}

/** Fresh keys for a web login; the private halves stay in the proxy's memory. */
export interface WebKeys {
  sshPublicKey: string;
  tlsPublicKey: string;
  sshKey: string;
}

/** Makes the key pair a web session's certificates will be issued for. */
export function newWebKeys(): WebKeys {
  const ssh = generateKeyPair('ed25519');
  const tls = generateKeyPair('p256');
  return {
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(ssh.publicKey)),
    tlsPublicKey: tls.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    sshKey: encodeOpenSSHPrivateKey(ssh.privateKey, 'tp-web'),
  };
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/** The cookie value of `req`'s session, if any. */
export function sessionToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === SESSION_COOKIE) return rest.join('=');
  }
  return undefined;
}

/** `Set-Cookie` for a new session token (expires with the session) or, with no token, one that clears it. */
export function sessionCookie(token: string | undefined, maxAgeMs = 0): string {
  const base = `${SESSION_COOKIE}=${token ?? ''}; Path=/; Secure; HttpOnly; SameSite=Strict`;
  return `${base}; Max-Age=${token ? Math.max(0, Math.floor(maxAgeMs / 1000)) : 0}`;
}

/**
 * Web sessions held in this proxy's memory, keyed by a hash of the cookie token (a heap dump shows no live
 * token). A session ends at logout or when its certificates expire; restarting the proxy ends them all.
 */
export class WebSessionStore {
  private readonly sessions = new Map<string, WebSession>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Stores a session for a completed login and returns its cookie token. */
  create(
    login: { username: string; logins: string[]; sshCert: string; tlsCert: string; expires: string },
    keys: WebKeys,
  ): { token: string; session: WebSession } {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    const cert = new X509Certificate(login.tlsCert);
    const session: WebSession = {
      user: login.username,
      who: identityFromCert(cert.raw),
      logins: login.logins,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: this.now(),
      expires: Date.parse(login.expires),
      sshKey: keys.sshKey,
      sshCert: login.sshCert,
      tlsCertDer: cert.raw.toString('base64'),
    };
    this.sessions.set(hash(token), session);
    return { token, session };
  }

  /** The live session of a token, or undefined (unknown, logged out or expired). */
  find(token: string | undefined): WebSession | undefined {
    if (!token) return undefined;
    const key = hash(token);
    const s = this.sessions.get(key);
    if (s && s.expires <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  /**
   * The session of a request, or Unauthenticated. Requests that change state must also carry the session's
   * CSRF token in a header and, when the browser names one, come from `origin`.
   */
  require(req: IncomingMessage, origin: string): WebSession {
    const s = this.find(sessionToken(req));
    if (!s) throw new Unauthenticated('your web session has expired or you are not logged in; log in again');
    if (req.method !== 'GET' && req.method !== 'HEAD') checkCsrf(req, s, origin);
    return s;
  }

  /** Ends a session (logout). */
  delete(token: string | undefined): WebSession | undefined {
    if (!token) return undefined;
    const key = hash(token);
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    return s;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Drops expired sessions. */
  sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
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
