import { startAuthentication } from '@simplewebauthn/browser';
import { apiOf, type FreshProof } from '../api.ts';
import { AuthenticationChallengeSchema } from '../webauthnOptions.ts';

/** What the account accepts as a fresh factor for a change (from the account view). */
export type ConfirmWith = ('otp' | 'webauthn' | 'password')[];

/**
 * The fields a change form shows to confirm it is really the account's owner: the current code of the
 * authenticator app and/or a note that the security key will be asked for, or the password when no factor is
 * enrolled. `id` keeps the inputs of several forms apart; `skipPassword` when the form asks for it already.
 */
export function ConfirmFactor(p: { id: string; confirmWith: ConfirmWith; skipPassword?: boolean }) {
  const otp = p.confirmWith.includes('otp');
  const key = p.confirmWith.includes('webauthn');
  return (
    <>
      {otp && (
        <>
          <label for={`${p.id}-otp`}>Current authenticator code</label>
          <input
            id={`${p.id}-otp`}
            name="confirmOtp"
            inputMode="numeric"
            autocomplete="one-time-code"
            maxLength={6}
            pattern="\d{6}"
            required={!key}
          />
        </>
      )}
      {key && (
        <p class="muted">
          {otp ? 'Or leave the code empty to confirm with your security key.' : 'You will be asked for your security key.'}
        </p>
      )}
      {!p.skipPassword && p.confirmWith.includes('password') && (
        <>
          <label for={`${p.id}-password`}>Your password</label>
          <input id={`${p.id}-password`} name="confirmPassword" type="password" autocomplete="current-password" required />
        </>
      )}
    </>
  );
}

/**
 * The proof the form's ConfirmFactor fields give: the typed code, else a security-key assertion, else the password;
 * nothing when there is none to give (the server then says what it needs).
 */
export async function gatherProof(form: HTMLFormElement, confirmWith: ConfirmWith): Promise<FreshProof | undefined> {
  const d = new FormData(form);
  const otp = String(d.get('confirmOtp') ?? '').trim();
  if (otp) return { otp };
  if (confirmWith.includes('webauthn')) {
    const { webauthn } = await apiOf(AuthenticationChallengeSchema, 'POST', '/webapi/ui/account/confirm/webauthn', {});
    return { webauthn: await startAuthentication({ optionsJSON: webauthn }) };
  }
  const password = d.get('confirmPassword');
  return password === null ? undefined : { password: String(password) };
}
