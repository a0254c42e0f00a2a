import { X509Certificate } from 'node:crypto';
import { type BotCertInfo, parseTlsCert } from '../crypto/x509.ts';
import { Unauthenticated } from '../errors.ts';

/** Who is calling, as proven by the caller's X.509 certificate (or nobody, for join and ping). */
export interface Identity {
  kind: 'admin' | 'proxy' | 'node' | 'auth' | 'user' | 'anonymous';
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
  if (kind === 'user') {
    const id: Identity = { kind, name: c.commonName, roles: c.organization, traits: c.identity.traits ?? {} };
    if (c.identity.bot) id.bot = c.identity.bot;
    return id;
  }
  if (kind === 'node' && c.identity.name) return { kind, name: c.commonName, roles: [], hostName: c.identity.name };
  return { kind, name: c.commonName, roles: [] };
}

/** Header in which a proxy forwards the end user's client certificate (base64 DER) with an admin API call. */
export const FORWARDED_CERT = 'x-tp-forwarded-cert';

/**
 * The identity of a user certificate a proxy forwarded: checked here against the cluster CAs and the clock, so a
 * proxy can pass a user's own certificate along but cannot make one up. Only user certificates are honoured.
 */
export function forwardedIdentity(b64: string, caCerts: string[], now: number): Identity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(b64, 'base64'));
  } catch (err) {
    throw new Unauthenticated('forwarded certificate is not readable', {}, { cause: err });
  }
  const signed = caCerts.some(
    (pem) => cert.checkIssued(new X509Certificate(pem)) && cert.verify(new X509Certificate(pem).publicKey),
  );
  if (!signed) throw new Unauthenticated('forwarded certificate is not signed by this cluster');
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))
    throw new Unauthenticated('forwarded certificate is expired');
  const id = identityFromCert(cert.raw);
  // Users (admin commands from a profile) and nodes (rotation reports and renewals through the proxy).
  if (id.kind !== 'user' && id.kind !== 'node')
    throw new Unauthenticated('only user and node certificates are forwarded');
  return id;
}
