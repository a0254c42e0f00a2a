import * as OTPAuth from 'otpauth';

/** Makes a TOTP secret and its otpauth:// URI for an authenticator app. */
export function newTotp(cluster: string, user: string): { secret: string; uri: string } {
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  return { secret, uri: totpUri(cluster, user, secret) };
}

/** The otpauth:// URI (what the QR code holds) of a base32 TOTP secret. */
export function totpUri(cluster: string, user: string, secret: string): string {
  return new OTPAuth.TOTP({
    issuer: `tp:${cluster}`,
    label: user,
    secret: OTPAuth.Secret.fromBase32(secret),
    digits: 6,
    period: 30,
    algorithm: 'SHA1',
  }).toString();
}

/** The TOTP time step `code` is valid for at `now` (±1 step), or undefined when it is wrong. */
export function totpStep(secret: string, code: string, now: number): number | undefined {
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    digits: 6,
    period: 30,
    algorithm: 'SHA1',
  });
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? undefined : Math.floor(now / 30_000) + delta;
}

/** The current TOTP code for a secret (tests and `tp` tooling use it to log in). */
export function totpCode(secret: string, now: number): string {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    digits: 6,
    period: 30,
    algorithm: 'SHA1',
  }).generate({
    timestamp: now,
  });
}
