import type { RotationStatus, ServerProgress } from '../api/rotationSchemas.ts';
import { caPin } from '../crypto/caPin.ts';
import { fingerprint, parseAuthorizedKey } from '../crypto/keys.ts';
import type { CaReader } from './caSet.ts';
import { CA_TYPES, type StoredCaKeys } from './cas.ts';
import { caughtUp, type RotationReport, type RotationState } from './rotation.ts';

export type { RotationStatus, ServerProgress };

function keysFingerprint(k: StoredCaKeys): string {
  if (k.ssh) return fingerprint(parseAuthorizedKey(k.ssh.pub).blob);
  return k.tls ? caPin(k.tls.cert) : '';
}

/** What `tp rotate status` shows for `state`, the servers' latest `reports` and the CAs as loaded, at `now`. */
export function describeRotation(
  state: RotationState,
  reports: Map<string, RotationReport>,
  cas: CaReader,
  now: number,
): RotationStatus {
  const servers = state.servers.map((t) => {
    const r = reports.get(t.id);
    return { ...t, rotationId: r?.rotationId, phase: r?.phase, at: r?.at, caughtUp: caughtUp(state, r) };
  });
  const keys = CA_TYPES.map((type) => {
    const st = cas.current(type).stored;
    return { type, active: keysFingerprint(st.active), trusted: [st.active, ...st.additional].map(keysFingerprint) };
  });
  return { state, cas: keys, servers, waitingFor: waitingFor(state, servers, now) };
}

/** What automatic mode waits for next, in words; undefined in standby, in manual mode and when nothing holds it. */
function waitingFor(s: RotationState, servers: ServerProgress[], now: number): string | undefined {
  if (s.phase === 'standby' || s.mode === 'manual') return undefined;
  const behind = servers.filter((x) => !x.caughtUp).map((x) => `${x.kind} ${x.name}`);
  if (behind.length) return `${behind.length} server(s) to report ${s.phase}: ${behind.join(', ')}`;
  if (s.phase === 'update_servers' && now < s.started + s.graceMs)
    return `the grace period, until ${new Date(s.started + s.graceMs).toISOString()}`;
  return undefined;
}
