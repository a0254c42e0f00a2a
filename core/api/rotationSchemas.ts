import * as v from 'valibot';
import { CaTypeSchema } from './schemas.ts';

// Wire schemas of the CA rotation answers (`tp rotate`, `/v1/rotation`); browser-safe like core/api/schemas.ts.

/** A CA rotation's phase (see core/identity/rotationPhase.ts). */
export const RotationPhaseSchema = v.picklist(['standby', 'init', 'update_clients', 'update_servers', 'rollback']);

/** A server (agent or proxy) the rotation waits for in automatic mode. */
export const TrackedServerSchema = v.object({ id: v.string(), kind: v.picklist(['node', 'proxy']), name: v.string() });
export type TrackedServer = v.InferOutput<typeof TrackedServerSchema>;

/** The cluster's rotation state (`POST /v1/rotation/start|phase|rollback`). */
export const RotationStateSchema = v.object({
  /** ID of the current (or last) rotation; empty before the first. */
  id: v.string(),
  phase: RotationPhaseSchema,
  types: v.array(CaTypeSchema),
  mode: v.picklist(['auto', 'manual']),
  started: v.number(),
  phaseSince: v.number(),
  /** The old CAs stay trusted at least this long after the start (time for users to log in again). */
  graceMs: v.number(),
  /** How long automatic mode waits in one phase for servers before it reports a stall. */
  timeoutMs: v.number(),
  /** Servers live at the start; automatic mode advances only when all have reported the phase. */
  servers: v.array(TrackedServerSchema),
  stalled: v.optional(v.object({ since: v.number(), waiting: v.array(v.string()) })),
  last: v.optional(
    v.object({
      id: v.string(),
      result: v.picklist(['completed', 'rolled_back']),
      at: v.number(),
      types: v.array(CaTypeSchema),
    }),
  ),
});
export type RotationState = v.InferOutput<typeof RotationStateSchema>;

/** A tracked server and where it stands in the rotation. */
export const ServerProgressSchema = v.object({
  ...TrackedServerSchema.entries,
  /** The rotation and phase it last reported, and when. */
  rotationId: v.optional(v.string()),
  phase: v.optional(RotationPhaseSchema),
  at: v.optional(v.number()),
  caughtUp: v.boolean(),
});
export type ServerProgress = v.InferOutput<typeof ServerProgressSchema>;

/** What `tp rotate status` shows (`GET /v1/rotation`). */
export const RotationStatusSchema = v.object({
  state: RotationStateSchema,
  /** Per CA: fingerprints of the signing key and of every trusted key. */
  cas: v.array(v.object({ type: CaTypeSchema, active: v.string(), trusted: v.array(v.string()) })),
  servers: v.array(ServerProgressSchema),
  /** What automatic mode waits for next, in words; absent in standby and manual mode. */
  waitingFor: v.optional(v.string()),
});
export type RotationStatus = v.InferOutput<typeof RotationStatusSchema>;
