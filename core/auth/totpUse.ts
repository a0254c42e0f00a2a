import { totpStep, type UserStore } from './users.ts';

/** How a TOTP code fared: accepted (and now spent), wrong, or already used (this step or a later one was spent). */
export type TotpOutcome = 'accepted' | 'wrong' | 'reused';

/** The refusal a person sees for a code that was already spent. */
export const TOTP_REUSED = 'this second-factor code was already used: wait for the next code';

/**
 * Checks `code` against the user's authenticator app and spends its time step in the same compare-and-swap on the
 * user record, so of any number of concurrent callers with one code exactly one gets `accepted`.
 */
export async function spendTotpCode(users: UserStore, name: string, code: string, now: number): Promise<TotpOutcome> {
  const r = await users.updateUnless<'wrong' | 'reused'>(name, (u) => {
    if (!u.totp) return 'wrong';
    const step = totpStep(u.totp.secret, code, now);
    if (step === undefined) return 'wrong';
    if (u.totp.lastStep !== undefined && step <= u.totp.lastStep) return 'reused';
    return { ...u, totp: { ...u.totp, lastStep: step } };
  });
  return typeof r === 'string' ? r : 'accepted';
}
