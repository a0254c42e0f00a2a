import { parseTlsCert } from '../crypto/x509.ts';

/** Who is calling, as proven by the caller's X.509 certificate (or nobody, for join and ping). */
export interface Identity {
  kind: 'admin' | 'proxy' | 'node' | 'auth' | 'user' | 'anonymous';
  /** User name, or host ID for system identities. */
  name: string;
  /** Role names (users only). */
  roles: string[];
  /** Traits (users only), for role templates such as {{internal.logins}}. */
  traits?: Record<string, string[]>;
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
  if (kind === 'user') return { kind, name: c.commonName, roles: c.organization, traits: c.identity.traits ?? {} };
  return { kind, name: c.commonName, roles: [] };
}
