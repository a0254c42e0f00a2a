import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Backend } from '../backend/index.ts';
import { takeOnce } from '../backend/takeOnce.ts';
import { AccessDenied, BadParameter } from '../errors.ts';

/** A registered security key (WebAuthn credential) of a user. The public key is not a secret. */
export interface WebauthnDevice {
  /** Credential ID, base64url. */
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports?: string[];
  name: string;
  addedAt: string;
}

/** Where a ceremony runs: the proxy's web origin and the relying party ID (its host name). */
export interface RelyingParty {
  origin: string;
  rpId: string;
}

/** The relying party of a web origin such as `https://proxy.example.com:3080`. */
export function relyingParty(origin: string): RelyingParty {
  let url: URL;
  try {
    url = new URL(origin);
  } catch (err) {
    throw new BadParameter(`not a web origin: ${origin}`, {}, { cause: err });
  }
  if (url.protocol !== 'https:') throw new BadParameter(`security keys need an https origin, not ${origin}`);
  return { origin: url.origin, rpId: url.hostname };
}

const CHALLENGE_TTL_MS = 5 * 60_000;
const challengeKey = (purpose: string, subject: string) => `/webauthn_challenges/${purpose}/${subject}`;

/**
 * WebAuthn ceremonies (via @simplewebauthn/server) with their challenges kept in the backend for five minutes, so
 * the begin and finish calls may reach different auth servers. Each challenge is used at most once.
 */
export class WebauthnCeremonies {
  constructor(
    private readonly b: Backend,
    private readonly now: () => number,
    private readonly cluster: string,
  ) {}

  /** Options for `navigator.credentials.create`, excluding keys the user already has. */
  async registrationOptions(
    purpose: string,
    subject: string,
    user: string,
    devices: WebauthnDevice[],
    rp: RelyingParty,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: `tp ${this.cluster}`,
      rpID: rp.rpId,
      userName: user,
      attestationType: 'none',
      excludeCredentials: devices.map((d) => ({ id: d.id, transports: d.transports })),
      authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
    });
    await this.saveChallenge(purpose, subject, options.challenge);
    return options;
  }

  /** Verifies a registration against the saved challenge; returns the new device or throws AccessDenied. */
  async verifyRegistration(
    purpose: string,
    subject: string,
    response: unknown,
    name: string,
    rp: RelyingParty,
  ): Promise<WebauthnDevice> {
    const expected = await this.takeChallenge(purpose, subject);
    let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      result = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: expected,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        requireUserVerification: false,
      });
    } catch (err) {
      throw new AccessDenied(`security key registration failed: ${(err as Error).message}`, {}, { cause: err });
    }
    if (!result.verified) throw new AccessDenied('security key registration could not be verified');
    const c = result.registrationInfo.credential;
    return {
      id: c.id,
      publicKey: Buffer.from(c.publicKey).toString('base64url'),
      counter: c.counter,
      transports: c.transports,
      name,
      addedAt: new Date(this.now()).toISOString(),
    };
  }

  /** Options for `navigator.credentials.get` over the user's devices. */
  async authenticationOptions(
    purpose: string,
    subject: string,
    devices: WebauthnDevice[],
    rp: RelyingParty,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    if (devices.length === 0) throw new BadParameter('this account has no security key registered');
    const options = await generateAuthenticationOptions({
      rpID: rp.rpId,
      allowCredentials: devices.map((d) => ({ id: d.id, transports: d.transports as never })),
      userVerification: 'preferred',
    });
    await this.saveChallenge(purpose, subject, options.challenge);
    return options;
  }

  /**
   * Verifies an assertion from one of `devices` against the saved challenge; returns the device with its new
   * signature counter, or throws AccessDenied (unknown key, bad signature, replayed or missing challenge).
   */
  async verifyAuthentication(
    purpose: string,
    subject: string,
    response: unknown,
    devices: WebauthnDevice[],
    rp: RelyingParty,
  ): Promise<WebauthnDevice> {
    const expected = await this.takeChallenge(purpose, subject);
    const r = response as AuthenticationResponseJSON;
    const device = devices.find((d) => d.id === r?.id);
    if (!device) throw new AccessDenied('this security key is not registered for the account');
    let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      result = await verifyAuthenticationResponse({
        response: r,
        expectedChallenge: expected,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        credential: {
          id: device.id,
          publicKey: Buffer.from(device.publicKey, 'base64url'),
          counter: device.counter,
          transports: device.transports,
        },
        requireUserVerification: false,
      });
    } catch (err) {
      throw new AccessDenied(`security key check failed: ${(err as Error).message}`, {}, { cause: err });
    }
    if (!result.verified) throw new AccessDenied('security key check failed');
    return { ...device, counter: result.authenticationInfo.newCounter };
  }

  private async saveChallenge(purpose: string, subject: string, challenge: string): Promise<void> {
    await this.b.put({
      key: challengeKey(purpose, subject),
      value: challenge,
      expires: this.now() + CHALLENGE_TTL_MS,
    });
  }

  /** Reads and deletes the challenge, so an assertion or registration can be verified only once. */
  private async takeChallenge(purpose: string, subject: string): Promise<string> {
    const item = await takeOnce(this.b, challengeKey(purpose, subject));
    if (item === 'missing')
      throw new AccessDenied('no security key challenge is pending (it expired or was used); start again');
    if (item === 'taken') throw new AccessDenied('this security key challenge was already used; start again');
    return item.value;
  }
}
