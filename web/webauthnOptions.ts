import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import * as v from 'valibot';

/*
 * Schemas of the proxy's WebAuthn challenges (`{ webauthn: options }`). They live here, not in core/api, because
 * their types are the browser library's; the options pass through unchanged once their shape is checked.
 */

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const hasChallenge = (x: unknown): boolean => isObject(x) && typeof x.challenge === 'string';

/** Options to register a security key: a challenge, the relying party and the user. */
export const RegistrationChallengeSchema = v.object({
  webauthn: v.custom<PublicKeyCredentialCreationOptionsJSON>(
    (x) => hasChallenge(x) && isObject((x as Record<string, unknown>).rp) && isObject((x as Record<string, unknown>).user),
    'not WebAuthn registration options',
  ),
});

/** Options to sign in (or confirm a change) with a security key: a challenge. */
export const AuthenticationChallengeSchema = v.object({
  webauthn: v.custom<PublicKeyCredentialRequestOptionsJSON>(hasChallenge, 'not WebAuthn authentication options'),
});
