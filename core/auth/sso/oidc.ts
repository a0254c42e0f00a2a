import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { AccessDenied, Unavailable } from '../../errors.ts';
import type { SsoConnector } from './connectors.ts';
import type { SsoProvider } from './provider.ts';
import { oidcUserName } from './userNames.ts';

type Oidc = Extract<SsoConnector, { kind: 'oidc' }>;

/** The parts of an OpenID Provider's discovery document tp uses. */
export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  token_endpoint_auth_methods_supported?: string[];
}

const TIMEOUT_MS = 10_000;
const discoveries = new Map<string, { at: number; doc: Discovery; jwks: JWTVerifyGetKey }>();

/** The provider's discovery document and key set, fetched once per 10 minutes; Unavailable when unreachable. */
export async function discover(issuer: string, now: number): Promise<{ doc: Discovery; jwks: JWTVerifyGetKey }> {
  const hit = discoveries.get(issuer);
  if (hit && now - hit.at < 600_000) return hit;
  const url = `${issuer}/.well-known/openid-configuration`;
  let doc: Discovery;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as Discovery;
  } catch (err) {
    throw new Unavailable(`cannot read the OIDC discovery document at ${url}: ${(err as Error).message}`);
  }
  // The document must name the issuer it was fetched for (OpenID Connect Discovery 1.0, section 4.3).
  if (doc.issuer !== issuer)
    throw new Unavailable(`the discovery document at ${url} names issuer "${doc.issuer}", not "${issuer}"`);
  const entry = { at: now, doc, jwks: createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: TIMEOUT_MS }) };
  discoveries.set(issuer, entry);
  return entry;
}

/** The URL that sends the browser to the provider: code flow with state, PKCE (S256) and nonce. */
export async function oidcAuthorizeUrl(
  c: Oidc,
  p: { state: string; codeChallenge: string; nonce: string; redirectUri: string; now: number },
): Promise<string> {
  const { doc } = await discover(c.issuer, p.now);
  const u = new URL(doc.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: c.clientId,
    redirect_uri: p.redirectUri,
    scope: ['openid', ...c.scopes.filter((s) => s !== 'openid')].join(' '),
    state: p.state,
    nonce: p.nonce,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
  }).toString();
  return u.toString();
}

/**
 * Verifies an ID token: signature by the provider's published keys, issuer, audience (our client ID), expiry
 * (30 s of clock skew) and the nonce this login sent. Returns its claims, or throws AccessDenied saying which
 * check failed.
 */
export async function verifyIdToken(
  token: string,
  o: { jwks: JWTVerifyGetKey; issuer: string; audience: string; nonce: string; now: number },
): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, o.jwks, {
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(o.now),
      clockTolerance: 30,
    }));
  } catch (err) {
    const e = err as Error & { code?: string; claim?: string };
    const why =
      e.code === 'ERR_JWT_EXPIRED'
        ? 'the ID token has expired'
        : e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
          ? `the ID token's "${e.claim}" claim is wrong (${e.message})`
          : e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
            ? 'the ID token signature does not verify'
            : `the ID token is not valid: ${e.message}`;
    throw new AccessDenied(why, {}, { cause: err });
  }
  if (payload.nonce !== o.nonce) throw new AccessDenied("the ID token's nonce does not match this login");
  return payload;
}

/** Exchanges the code (with the PKCE verifier and the client secret) and returns the verified ID token's claims. */
export async function oidcIdentify(
  c: Oidc,
  p: { code: string; codeVerifier: string; nonce: string; redirectUri: string; now: number },
): Promise<JWTPayload> {
  const { doc, jwks } = await discover(c.issuer, p.now);
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: p.code,
    redirect_uri: p.redirectUri,
    code_verifier: p.codeVerifier,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const methods = doc.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (methods.includes('client_secret_basic')) {
    const enc = (s: string) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(c.clientId)}:${enc(c.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', c.clientId);
    form.set('client_secret', c.clientSecret);
  }
  let body: { id_token?: string; error?: string; error_description?: string };
  try {
    const res = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers,
      body: form,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new Unavailable(`cannot reach the token endpoint ${doc.token_endpoint}: ${(err as Error).message}`);
  }
  if (body.error || !body.id_token)
    throw new AccessDenied(
      `the identity provider refused the login code: ${body.error ?? 'no ID token'}${body.error_description ? ` (${body.error_description})` : ''}`,
    );
  return verifyIdToken(body.id_token, { jwks, issuer: doc.issuer, audience: c.clientId, nonce: p.nonce, now: p.now });
}

/** An OpenID Provider as an SSO provider: ID token claims map to roles; the account is bound by `iss` and `sub`. */
export function oidcProvider(c: Oidc): SsoProvider {
  return {
    mappedRoleNames: () => c.claimsToRoles.flatMap((m) => m.roles),
    rolesFor(identity) {
      const has = (v: unknown, want: string) => v === want || (Array.isArray(v) && v.includes(want));
      return [...new Set(c.claimsToRoles.filter((m) => has(identity[m.claim], m.value)).flatMap((m) => m.roles))];
    },
    unmapped: () => `none of the claims (${c.claimsToRoles.map((m) => m.claim).join(', ')})`,
    authorizeUrl: (p) => oidcAuthorizeUrl(c, p),
    async identify(x) {
      const claims = (await oidcIdentify(c, x)) as Record<string, unknown>;
      const { iss, sub, email, email_verified, preferred_username, name } = claims;
      if (typeof iss !== 'string' || typeof sub !== 'string' || !sub || sub.length > 255)
        throw new AccessDenied('the ID token names no usable subject ("sub" claim)');
      const identity: Record<string, unknown> = { iss, sub, email, email_verified, preferred_username, name };
      for (const m of c.claimsToRoles) identity[m.claim] = claims[m.claim];
      if (c.usernameClaim) identity[c.usernameClaim] = claims[c.usernameClaim];
      return { identity, username: oidcUserName(c, claims), subject: { issuer: iss, subject: sub } };
    },
    async check() {
      const { doc } = await discover(c.issuer, 0);
      const keys = await fetch(doc.jwks_uri, { signal: AbortSignal.timeout(TIMEOUT_MS) })
        .then((r) => r.json() as Promise<{ keys?: unknown[] }>)
        .catch((err: unknown) => {
          throw new AccessDenied(`cannot read the provider's keys at ${doc.jwks_uri}: ${(err as Error).message}`);
        });
      if (!keys.keys?.length) throw new AccessDenied(`the provider publishes no signing keys at ${doc.jwks_uri}`);
      return `issuer ${doc.issuer}: discovery read, ${keys.keys.length} signing key(s) at ${doc.jwks_uri}`;
    },
  };
}
