import type * as v from 'valibot';
import type { RotationPhaseSchema } from '../api/rotationSchemas.ts';

/**
 * CA rotation (DESIGN.md, "CA rotation"). Phases: standby → init → update_clients → update_servers → standby, with
 * rollback allowed from any phase before the final standby. Keys per phase, for each rotated CA:
 *   init, rollback:                 old signs, new is trusted (everyone learns the new CA)
 *   update_clients, update_servers: new signs, old is trusted (clients, then servers, get new certificates)
 *   standby:                        only the winner (new after a rotation, old after a rollback)
 */
export type RotationPhase = v.InferOutput<typeof RotationPhaseSchema>;

/** Phases in which servers must hold certificates from the signing CA (before it, they keep the old ones). */
export const SERVERS_RENEW: ReadonlySet<RotationPhase> = new Set(['update_servers', 'rollback', 'standby']);
