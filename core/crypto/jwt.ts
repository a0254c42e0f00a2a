// JSON Web Tokens signed by the cluster's JWT CA: the identity web apps receive with each request
// (`tp-jwt-assertion`), and the JWKS that lets them verify it.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import type { TlsKeyPair } from './x509.ts';

/** The signing algorithm of app identity tokens (the JWT CA holds a P-256 key). */
export const APP_JWT_ALG = 'ES256';

/** The public JWK of a JWT CA certificate (PEM): EC P-256 coordinates, `kid` (its RFC 7638 thumbprint), alg, use. */
export async function jwkOf(certPem: string): Promise<JWK> {
  const full = new X509Certificate(certPem).publicKey.export({ format: 'jwk' });
  const pub: JWK = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
  return { ...pub, kid: await calculateJwkThumbprint(pub), alg: APP_JWT_ALG, use: 'sig' };
}

/** The JWKS of every trusted JWT CA certificate (active first): public keys only. */
export async function jwksOf(certs: string[]): Promise<JSONWebKeySet> {
  return { keys: await Promise.all(certs.map(jwkOf)) };
}

/** What an app identity token says. Times are epoch ms (the token carries seconds). */
export interface AppTokenClaims {
  /** The cluster name. */
  issuer: string;
  /** The app's URI, as its agent heartbeats it. */
  audience: string;
  username: string;
  roles: string[];
  traits: Record<string, string[]>;
  issuedAt: number;
  expires: number;
}

/** Signs an app identity token with the JWT CA's active key; its header names that key's `kid`. */
export async function signAppToken(ca: TlsKeyPair, c: AppTokenClaims): Promise<string> {
  const { kid } = await jwkOf(ca.cert);
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return new SignJWT({ username: c.username, roles: c.roles, traits: c.traits })
    .setProtectedHeader({ alg: APP_JWT_ALG, typ: 'JWT', kid })
    .setIssuer(c.issuer)
    .setAudience(c.audience)
    .setSubject(c.username)
    .setIssuedAt(seconds(c.issuedAt))
    .setNotBefore(seconds(c.issuedAt))
    .setExpirationTime(seconds(c.expires))
    .sign(createPrivateKey(ca.key));
}
