/** Second factor a cluster asks for: none, a TOTP code, a security key (WebAuthn), or either ("on"). */
export type SecondFactor = 'off' | 'otp' | 'webauthn' | 'on';

/** Whether users of a cluster with this setting enrol an authenticator app (TOTP). */
export const enrolsTotp = (sf: SecondFactor): boolean => sf === 'otp' || sf === 'on';

/** Whether users of a cluster with this setting may enrol security keys (WebAuthn). */
export const enrolsWebauthn = (sf: SecondFactor): boolean => sf === 'webauthn' || sf === 'on';
