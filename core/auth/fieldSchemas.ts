import * as v from 'valibot';

/** Field schemas shared by the auth API's request bodies: names, logins, TTLs, keys and hosts. */

export const Name = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'names are lowercase letters, digits, - _ .'),
);
export const Ttl = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1000, 'ttl must be at least 1s'),
  v.maxValue(366 * 86_400_000, 'ttl too long'),
);
export const Login = v.pipe(
  v.string(),
  v.regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$|^\{\{\s*(internal|external)\.[A-Za-z0-9_.-]+\s*\}\}$/i, 'not a valid login'),
);
export const SshKey = v.pipe(
  v.string(),
  v.maxLength(8192),
  v.regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+( .*)?$/,
    'not an ed25519 or ecdsa P-256 OpenSSH public key',
  ),
);
export const SpkiPem = v.pipe(
  v.string(),
  v.maxLength(8192),
  v.regex(/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/, 'not a PEM public key'),
);
/** A host name or address as agents and certificates name it. */
export const Host = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(253),
  v.regex(/^[A-Za-z0-9_.:-]+$/, 'not a host name or address'),
);
