import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { AccessDenied, BadParameter } from '../../errors.ts';
import { discover } from '../sso/oidc.ts';

/** Clock skew tolerated on `exp`, `nbf` and `iat` between the CI issuer and auth (seconds). */
const SKEW_S = 30;

/** The ID token's check that failed, for the audit (with detail) and the client (without claim values). */
export type TokenCheck = 'format' | 'signature' | 'issuer' | 'audience' | 'expired' | 'not_yet_valid' | 'claims';

/** An ID token refused before the rules were read: which check failed. */
export class IdTokenRefused extends AccessDenied {
  constructor(
    readonly check: TokenCheck,
    message: string,
    cause?: unknown,
  ) {
    super(message, { check }, { cause });
  }
}

/** The key set that verifies the issuer's tokens: the static JWKS when given, else the issuer's discovery. */
export async function issuerKeys(
  issuer: string,
  staticJwks: string | undefined,
  now: number,
): Promise<JWTVerifyGetKey> {
  if (staticJwks) {
    let set: JSONWebKeySet;
    try {
      set = JSON.parse(staticJwks) as JSONWebKeySet;
    } catch (err) {
      throw new BadParameter("the join method's static JWKS is not JSON", {}, { cause: err });
    }
    return createLocalJWKSet(set);
  }
  return (await discover(issuer, now)).jwks;
}

/**
 * Verifies a CI job's ID token: signed by the issuer's keys, from `issuer`, for `audience`, within its validity (30 s
 * of skew). Returns the claims, or throws IdTokenRefused naming the failed check.
 */
export async function verifyCiToken(
  token: string,
  o: { keys: JWTVerifyGetKey; issuer: string; audience: string; now: number },
): Promise<Record<string, unknown>> {
  if (token.length > 16_384 || token.split('.').length !== 3)
    throw new IdTokenRefused('format', 'the ID token is not a JWT');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, o.keys, {
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(o.now),
      clockTolerance: SKEW_S,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    throw refusalOf(err, o);
  }
  return payload as Record<string, unknown>;
}

function refusalOf(err: unknown, o: { issuer: string; audience: string }): IdTokenRefused {
  const e = err as Error & { code?: string; claim?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return new IdTokenRefused('expired', 'the ID token has expired', err);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf' || e.claim === 'iat')
        return new IdTokenRefused('not_yet_valid', 'the ID token is not valid yet (nbf/iat in the future)', err);
      if (e.claim === 'iss') return new IdTokenRefused('issuer', `the ID token was not issued by ${o.issuer}`, err);
      if (e.claim === 'aud')
        return new IdTokenRefused('audience', `the ID token's audience is not "${o.audience}"`, err);
      return new IdTokenRefused('claims', `the ID token's "${e.claim}" claim is not valid`, err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new IdTokenRefused('signature', "the ID token's signature does not verify with the issuer's keys", err);
    default:
      return new IdTokenRefused('format', `the ID token is not valid: ${e.message}`, err);
  }
}
