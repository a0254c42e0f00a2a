import { matchTotp } from './totpDevices.ts';
import type { UserStore } from './users.ts';

/** How a TOTP code fared: accepted (and now spent), wrong, or already used (this step or a later one was spent). */
export type TotpOutcome = 'accepted' | 'wrong' | 'reused';

/** The refusal a person sees for a code that was already spent. */
export const TOTP_REUSED = 'this second-factor code was already used: wait for the next code';

/**
 * Checks `code` against each of the user's authenticator apps and spends its time step on the app it belongs to in
 * the same compare-and-swap on the user record, so of any number of concurrent callers with one code exactly one
 * gets `accepted`. A code of one app does not spend the step of another.
 */
export async function spendTotpCode(users: UserStore, name: string, code: string, now: number): Promise<TotpOutcome> {
  const r = await users.updateUnless<'wrong' | 'reused'>(name, (u) => {
    const devices = u.totpDevices ?? [];
    const m = matchTotp(devices, code, now);
    if (typeof m === 'string') return m;
    const spent = devices.map((d) => (d.id === m.device.id ? { ...d, lastUsedStep: m.step } : d));
    return { ...u, totpDevices: spent };
  });
  return typeof r === 'string' ? r : 'accepted';
}
