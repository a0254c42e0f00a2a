import { X509Certificate } from 'node:crypto';
import { parseTlsCert } from '../crypto/certRead.ts';
import type { BotCertInfo } from '../crypto/certTypes.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';

/** Who is calling, as proven by the caller's X.509 certificate (or nobody, for join and ping). */
export interface Identity {
  /**
   * `app`: a user's app certificate (`tp apps login`), good for the one web app in `app` and nothing else; every
   * check for `user` refuses it, so only the paths that serve that app accept it.
   */
  kind: 'admin' | 'proxy' | 'node' | 'auth' | 'user' | 'app' | 'anonymous';
  /** User name, or host ID for system identities. */
  name: string;
  /** Role names (users only). */
  roles: string[];
  /** Traits (users only), for role templates such as {{internal.logins}}. */
  traits?: Record<string, string[]>;
  /** A node's name as auth fixed it at join (node certificates issued since names are bound; absent on older ones). */
  hostName?: string;
  /** Set for a bot's certificate (users only): the bot, its instance and the certificate's renewal generation. */
  bot?: BotCertInfo;
  /** The app an app certificate is for (kind `app` only): its name and the public address it is served on. */
  app?: AppRoute;
  /** When the certificate expires (epoch ms); absent on the anonymous identity. */
  expires?: number;
}

/** The route an app certificate carries: the app's name and its public address (`grafana.tp.example.com`). */
export interface AppRoute {
  app: string;
  publicAddr: string;
}

export const ANONYMOUS: Identity = { kind: 'anonymous', name: '', roles: [] };

// Parsing X.509 with asn1js cost ~8% of server CPU under session load (profiled); a peer presents the same
// certificate on every connection, so identities are cached by the certificate's bytes.
const cache = new Map<string, Identity>();

/** Reads the identity from a verified client certificate (DER). */
export function identityFromCert(der: Uint8Array): Identity {
  const key = Buffer.from(der).toString('base64');
  const hit = cache.get(key);
  if (hit) return hit;
  const id = parseIdentity(der);
  if (cache.size >= 10_000) cache.delete(cache.keys().next().value!);
  cache.set(key, id);
  return id;
}

function parseIdentity(der: Uint8Array): Identity {
  const c = parseTlsCert(der);
  const kind = c.identity.kind;
  const expires = c.notAfter.getTime();
  if (kind === 'user' || kind === 'app') {
    const id: Identity = { kind, name: c.commonName, roles: c.organization, traits: c.identity.traits ?? {}, expires };
    if (c.identity.bot) id.bot = c.identity.bot;
    if (kind === 'app') {
      const app = c.identity.route?.app;
      const publicAddr = c.identity.route?.public_addr;
      // An app certificate that names no app is good for nothing.
      if (!app || !publicAddr) return { ...ANONYMOUS };
      id.app = { app, publicAddr };
    }
    return id;
  }
  if (kind === 'node' && c.identity.name)
    return { kind, name: c.commonName, roles: [], hostName: c.identity.name, expires };
  return { kind, name: c.commonName, roles: [], expires };
}

/** Header in which a proxy forwards the end user's client certificate (base64 DER) with an admin API call. */
export const FORWARDED_CERT = 'x-tp-forwarded-cert';

/**
 * The identity of a user certificate a proxy forwarded: checked here against the cluster CAs and the clock, so a
 * proxy can pass a user's own certificate along but cannot make one up. Only user and node certificates are
 * honoured, and an app certificate only where `forApp` names its own app (the paths that serve that app).
 */
export function forwardedIdentity(b64: string, caCerts: string[], now: number, forApp?: string): Identity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(b64, 'base64'));
  } catch (err) {
    throw new Unauthenticated('forwarded certificate is not readable', {}, { cause: err });
  }
  const signed = caCerts.some((pem) => {
    const ca = new X509Certificate(pem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  });
  if (!signed) throw new Unauthenticated('forwarded certificate is not signed by this cluster');
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))
    throw new Unauthenticated('forwarded certificate is expired');
  const id = identityFromCert(cert.raw);
  if (id.kind === 'app') {
    if (forApp !== undefined && id.app?.app === forApp) return id;
    throw new AccessDenied(
      `this certificate is for app "${id.app?.app}" only${forApp === undefined ? '' : `, not for app "${forApp}"`}: use your tp login certificate`,
    );
  }
  // Users (admin commands from a profile) and nodes (rotation reports and renewals through the proxy).
  if (id.kind !== 'user' && id.kind !== 'node')
    throw new Unauthenticated('only user and node certificates are forwarded');
  return id;
}
