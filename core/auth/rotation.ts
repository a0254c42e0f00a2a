import * as v from 'valibot';
import {
  RotationPhaseSchema,
  type RotationState,
  RotationStateSchema,
  type TrackedServer,
} from '../api/rotationSchemas.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import { AlreadyExists, BadParameter, CompareFailed } from '../errors.ts';
import type { RotationPhase } from '../identity/rotationPhase.ts';
import type { IdSource } from '../ids.ts';
import { CA_TYPES, type CaType, caKey, makeCaKeys, type StoredCa, StoredCaSchema } from './cas.ts';

export type { RotationState, TrackedServer };

/** The phase that follows each phase in a forward rotation. */
export const NEXT_PHASE: Partial<Record<RotationPhase, RotationPhase>> = {
  init: 'update_clients',
  update_clients: 'update_servers',
  update_servers: 'standby',
  rollback: 'standby',
};

/** What a server last reported: the rotation and phase whose CAs and certificates it now holds. */
export interface RotationReport {
  id: string;
  kind: 'node' | 'proxy';
  name: string;
  rotationId: string;
  phase: RotationPhase;
  at: number;
}

/** A report as stored, checked when read (see core/backend/json.ts). */
const RotationReportSchema: v.GenericSchema<unknown, RotationReport> = v.looseObject({
  id: v.string(),
  kind: v.picklist(['node', 'proxy']),
  name: v.string(),
  rotationId: v.string(),
  phase: RotationPhaseSchema,
  at: v.number(),
});

export const STANDBY: RotationState = {
  id: '',
  phase: 'standby',
  types: [],
  mode: 'manual',
  started: 0,
  phaseSince: 0,
  graceMs: 0,
  timeoutMs: 0,
  servers: [],
};

const STATE_KEY = '/rotation_state';
const reportKey = (id: string) => `/rotation_reports/${id}`;

/** A server has caught up with the state when it reported this rotation's current phase. */
export function caughtUp(s: RotationState, r: RotationReport | undefined): boolean {
  return !!r && r.rotationId === s.id && r.phase === s.phase;
}

/** The CA keys a phase calls for (see the table above); `winner` decides who stays at the final standby. */
export function caForPhase(ca: StoredCa, phase: RotationPhase, winner: 'next' | 'old'): StoredCa {
  const r = ca.rotating;
  if (!r) return ca;
  switch (phase) {
    case 'init':
    case 'rollback':
      return { ...ca, active: r.old, additional: [r.next] };
    case 'update_clients':
    case 'update_servers':
      return { ...ca, active: r.next, additional: [r.old] };
    case 'standby': {
      const { rotating: _, ...rest } = ca;
      return { ...rest, active: winner === 'next' ? r.next : r.old, additional: [] };
    }
  }
}

/** Storage of the rotation state, the reports, and the CA documents each phase rewrites. */
export class RotationStore {
  constructor(private readonly b: Backend) {}

  /** The state and its revision (revision 0 when never rotated). */
  async get(): Promise<{ state: RotationState; revision: number }> {
    const doc = await getDoc(this.b, STATE_KEY, RotationStateSchema);
    return doc ? { state: doc.value, revision: doc.revision } : { state: STANDBY, revision: 0 };
  }

  /** Writes the state if nobody changed it since `revision`; throws CompareFailed otherwise. */
  async swap(revision: number, next: RotationState): Promise<void> {
    const item = { key: STATE_KEY, value: JSON.stringify(next) };
    if (revision === 0) {
      try {
        await this.b.create(item);
      } catch (err) {
        if (err instanceof AlreadyExists) throw new CompareFailed('the rotation state changed meanwhile; retry');
        throw err;
      }
    } else await this.b.compareAndSwap({ revision }, item);
  }

  async report(r: RotationReport): Promise<void> {
    await this.b.put({ key: reportKey(r.id), value: JSON.stringify(r) });
  }

  async reports(): Promise<Map<string, RotationReport>> {
    const all = await listDocs(this.b, '/rotation_reports/', RotationReportSchema);
    return new Map(all.map((r) => [r.id, r]));
  }

  /**
   * Brings the CA documents in line with `s` (idempotent; safe to run from several auth servers at once): makes the
   * incoming keys when a rotation starts, and writes each phase's active and trusted keys. Returns true if it wrote.
   */
  async applyToCas(s: RotationState, now: number): Promise<boolean> {
    if (s.id === '') return false;
    const winner = s.phase === 'standby' && s.last?.id === s.id && s.last.result === 'rolled_back' ? 'old' : 'next';
    let wrote = false;
    for (const type of s.types) {
      for (let attempt = 0; ; attempt++) {
        const doc = await getDoc(this.b, caKey(type), StoredCaSchema);
        if (!doc) throw new BadParameter(`CA ${type} is missing`);
        let ca = doc.value;
        if (ca.rotating?.id !== s.id) {
          if (s.phase === 'standby') break; // already final
          const old = ca.rotating ? ca.rotating.old : ca.active;
          ca = { ...ca, rotating: { id: s.id, old, next: await makeCaKeys(type, ca.cluster, now) } };
        }
        const want = caForPhase(ca, s.phase, winner);
        if (JSON.stringify(want) === JSON.stringify(doc.value)) break;
        try {
          await this.b.compareAndSwap({ revision: doc.revision }, { key: caKey(type), value: JSON.stringify(want) });
          wrote = true;
          break;
        } catch (err) {
          if (!(err instanceof CompareFailed) || attempt > 5) throw err;
        }
      }
    }
    return wrote;
  }
}

/** Parses `--type`: one CA (user, host, tls, db, db_client, jwt) or all of them. */
export function parseRotationTypes(t: string): CaType[] {
  if (t === 'all') return [...CA_TYPES];
  if ((CA_TYPES as string[]).includes(t)) return [t as CaType];
  throw new BadParameter(`unknown CA type "${t}": use ${CA_TYPES.join(', ')} or all`);
}

/** A fresh rotation's ID. */
export function newRotationId(ids: IdSource): string {
  return ids.uuid();
}

/** Throws BadParameter unless `phase` is the rotation's next phase (or rollback while one runs). */
export function checkNext(state: RotationState, phase: RotationPhase): void {
  const allowed = phase === 'rollback' ? state.phase !== 'standby' : NEXT_PHASE[state.phase] === phase;
  if (allowed) return;
  const next = NEXT_PHASE[state.phase];
  throw new BadParameter(
    state.phase === 'standby'
      ? 'no rotation is running: start one with `tp rotate start --type all`'
      : `cannot go from ${state.phase} to ${phase}; the next phase is ${next}${state.phase !== 'rollback' ? ' (or rollback)' : ''}`,
  );
}
