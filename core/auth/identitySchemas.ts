import * as v from 'valibot';
import { Name, SpkiPem, SshKey, Ttl } from './fieldSchemas.ts';

/** Wire schemas of the identity endpoints' bodies: signup, login, second factors, web sessions and SSO. */

const Otp = v.pipe(v.string(), v.regex(/^\d{6}$/, 'the second-factor code has 6 digits'));
const Origin = v.pipe(v.string(), v.maxLength(300));
/** A WebAuthn response as @simplewebauthn/browser sends it; its library verifies the inside. */
const WebauthnResponse = v.looseObject({ id: v.pipe(v.string(), v.maxLength(1024)), type: v.string() });
const SignupToken = v.pipe(v.string(), v.maxLength(256));

export const SignupBody = v.strictObject({
  token: SignupToken,
  password: v.pipe(v.string(), v.maxLength(1024)),
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  deviceName: v.optional(v.pipe(v.string(), v.maxLength(64))),
  origin: v.optional(Origin),
});

export const SignupTokenBody = v.strictObject({ token: SignupToken, origin: v.optional(Origin) });

export const LoginChallengeBody = v.strictObject({
  username: v.pipe(v.string(), v.maxLength(64)),
  password: v.pipe(v.string(), v.maxLength(1024)),
  origin: Origin,
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(128))),
});

/** A fresh factor confirming an account change: a current code, a security-key assertion, or the password. */
const FreshProof = v.strictObject({
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  password: v.optional(v.pipe(v.string(), v.maxLength(1024))),
});
export const ChangePasswordBody = v.strictObject({
  oldPassword: v.pipe(v.string(), v.maxLength(1024)),
  newPassword: v.pipe(v.string(), v.maxLength(1024)),
  proof: v.optional(FreshProof),
  origin: Origin,
});

export const WebauthnBeginBody = v.strictObject({ origin: Origin });
export const WebauthnFinishBody = v.strictObject({
  response: WebauthnResponse,
  name: v.optional(v.pipe(v.string(), v.maxLength(64)), ''),
  origin: Origin,
  proof: v.optional(FreshProof),
});
export const TotpFinishBody = v.strictObject({
  otp: Otp,
  name: v.optional(v.pipe(v.string(), v.maxLength(64))),
  origin: Origin,
  proof: v.optional(FreshProof),
});
export const RemoveDeviceBody = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,1024}$/, 'not a device ID')),
  origin: Origin,
  proof: v.optional(FreshProof),
});

const Url = v.pipe(v.string(), v.maxLength(2048), v.url('not a URL'));
const Roles = v.pipe(v.array(Name), v.minLength(1));
export const SsoConnectorBody = v.variant('kind', [
  v.strictObject({
    kind: v.literal('github'),
    name: Name,
    clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
    clientSecret: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    endpointUrl: Url,
    apiUrl: Url,
    teamsToRoles: v.pipe(
      v.array(
        v.strictObject({
          org: v.pipe(v.string(), v.maxLength(100)),
          team: v.pipe(v.string(), v.maxLength(100)),
          roles: Roles,
        }),
      ),
      v.minLength(1, 'map at least one team to a role'),
    ),
  }),
  v.strictObject({
    kind: v.literal('oidc'),
    name: Name,
    clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
    clientSecret: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    issuer: Url,
    scopes: v.optional(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]+$/))), ['email', 'profile']),
    usernameClaim: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'not a claim name'))),
    claimsToRoles: v.pipe(
      v.array(
        v.strictObject({
          claim: v.pipe(v.string(), v.maxLength(100)),
          value: v.pipe(v.string(), v.maxLength(256)),
          roles: Roles,
        }),
      ),
      v.minLength(1, 'map at least one claim to a role'),
    ),
  }),
]);

export const WebSessionBody = v.strictObject({
  user: Name,
  who: v.looseObject({ kind: v.literal('user'), name: Name, roles: v.array(v.string()) }),
  logins: v.array(v.string()),
  csrf: v.pipe(v.string(), v.maxLength(128)),
  createdAt: v.number(),
  expires: v.number(),
  sshKey: v.pipe(v.string(), v.maxLength(16384)),
  sshCert: v.pipe(v.string(), v.maxLength(16384)),
  tlsCertDer: v.pipe(v.string(), v.maxLength(16384)),
});

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest'));
export const SsoBeginBody = v.strictObject({
  connector: Name,
  mode: v.picklist(['cli', 'web', 'test']),
  redirectUri: Url,
  sshPublicKey: v.optional(SshKey),
  tlsPublicKey: v.optional(SpkiPem),
  ttlMs: v.optional(Ttl),
  clientRedirect: v.optional(Url),
  clientKey: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'an X25519 public key (base64url)'))),
  bindingHash: v.optional(Hex64),
  webKey: v.optional(v.pipe(v.string(), v.maxLength(16384))),
});
export const SsoCallbackBody = v.strictObject({
  state: v.pipe(v.string(), v.maxLength(256)),
  code: v.optional(v.pipe(v.string(), v.maxLength(2048))),
  error: v.optional(v.pipe(v.string(), v.maxLength(256))),
  errorDescription: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  binding: v.optional(v.pipe(v.string(), v.maxLength(256))),
});
export const SsoConfirmBody = v.strictObject({
  id: v.pipe(v.string(), v.maxLength(64)),
  token: v.pipe(v.string(), v.maxLength(256)),
});

export const LoginBody = v.strictObject({
  username: v.pipe(v.string(), v.maxLength(64)),
  password: v.pipe(v.string(), v.maxLength(1024)),
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  origin: v.optional(Origin),
  sshPublicKey: SshKey,
  tlsPublicKey: SpkiPem,
  ttlMs: v.optional(Ttl),
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(128))),
});
