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

/** Reads the identity from a verified client certificate (DER). */
export function identityFromCert(der: Uint8Array): Identity {
  const c = parseTlsCert(der);
  const kind = c.identity.kind;
  if (kind === 'user') return { kind, name: c.commonName, roles: c.organization, traits: c.identity.traits ?? {} };
  return { kind, name: c.commonName, roles: [] };
}
