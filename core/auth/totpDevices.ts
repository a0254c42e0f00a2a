import type { IdSource } from '../ids.ts';
import { totpStep } from './totpCodes.ts';

/** One authenticator app (TOTP) of a user, named like their security keys. The secret never leaves auth. */
export interface TotpDevice {
  id: string;
  name: string;
  /** Base32 TOTP secret. */
  secret: string;
  addedAt: string;
  /** The last time step a code of this app was spent on (a code of it for this step or an earlier one is refused). */
  lastUsedStep?: number;
}

/** The ID and name an account's single authenticator app gets when read from a record of before multiple apps. */
export const LEGACY_TOTP_ID = 'totp';
export const LEGACY_TOTP_NAME = 'authenticator';

/** A user record as stored before multiple apps: one `totp` secret with its last spent step. */
interface LegacyTotp {
  totp?: { secret: string; lastStep?: number };
}

/**
 * A stored user record as this version reads it: a record with the single `totp` secret of before comes back with
 * that secret as one device named "authenticator" (the same ID on every read, so it can be removed), and no `totp`.
 */
export function upgradeTotp<U extends { createdAt: string; totpDevices?: TotpDevice[] }>(raw: U & LegacyTotp): U {
  const { totp, ...rest } = raw;
  if (!totp || rest.totpDevices) return rest as U;
  const device: TotpDevice = {
    id: LEGACY_TOTP_ID,
    name: LEGACY_TOTP_NAME,
    secret: totp.secret,
    addedAt: rest.createdAt,
  };
  if (totp.lastStep !== undefined) device.lastUsedStep = totp.lastStep;
  return { ...rest, totpDevices: [device] } as U;
}

/** A new device for a confirmed secret; `spentStep` is the step of the code that confirmed it (refused later). */
export function newTotpDevice(
  ids: IdSource,
  o: { name: string; secret: string; now: number; spentStep?: number },
): TotpDevice {
  const d: TotpDevice = {
    id: `totp-${ids.bytes(9).toString('base64url')}`,
    name: o.name,
    secret: o.secret,
    addedAt: new Date(o.now).toISOString(),
  };
  if (o.spentStep !== undefined) d.lastUsedStep = o.spentStep;
  return d;
}

/** The name a new app gets when the person gives none: "authenticator", then "authenticator 2", ... (unused). */
export function defaultTotpName(devices: readonly TotpDevice[]): string {
  const taken = new Set(devices.map((d) => d.name));
  if (!taken.has(LEGACY_TOTP_NAME)) return LEGACY_TOTP_NAME;
  for (let n = 2; ; n++) if (!taken.has(`${LEGACY_TOTP_NAME} ${n}`)) return `${LEGACY_TOTP_NAME} ${n}`;
}

/** How a code fared against a user's apps: the device it spends and at which step, or why it is refused. */
export type TotpMatch = { device: TotpDevice; step: number } | 'wrong' | 'reused';

/**
 * Checks `code` against every one of `devices` (each compared in constant time, and all of them whatever matches,
 * so timing does not tell which app a code belongs to). A code is spent per device: it is `reused` only when every
 * device it matches has already spent that step or a later one.
 */
export function matchTotp(devices: readonly TotpDevice[], code: string, now: number): TotpMatch {
  let fresh: { device: TotpDevice; step: number } | undefined;
  let reused = false;
  for (const device of devices) {
    const step = totpStep(device.secret, code, now);
    if (step === undefined) continue;
    if (device.lastUsedStep !== undefined && step <= device.lastUsedStep) reused = true;
    else fresh ??= { device, step };
  }
  return fresh ?? (reused ? 'reused' : 'wrong');
}
