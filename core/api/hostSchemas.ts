import * as v from 'valibot';
import { RotationPhaseSchema } from './rotationSchemas.ts';

/**
 * Wire schemas of the answers servers read: what auth tells a proxy and what the proxy tells an agent about CAs,
 * renewed certificates and the writes they send (heartbeats, audit events). Like schemas.ts, valibot only.
 */

/** The cluster's CAs and rotation phase as an agent follows them (part of `GET /webapi/agent/state`). */
export const ClusterCasSchema = v.object({
  rotation: v.object({ id: v.string(), phase: RotationPhaseSchema }),
  userCa: v.array(v.string()),
  hostCa: v.array(v.string()),
  tlsCa: v.array(v.string()),
});
export type ClusterCasAnswer = v.InferOutput<typeof ClusterCasSchema>;

/**
 * `GET /webapi/agent/state`: the CAs, the recording mode, and the state snapshot an agent's replica starts from
 * (its items are parsed by core/state/items.ts, so they pass through here unread).
 */
export const AgentStateSchema = v.looseObject({
  ...ClusterCasSchema.entries,
  sessionRecording: v.optional(v.picklist(['node', 'off'])),
});

/** `GET /v1/ping`: what auth says about the cluster (a proxy rereads it now and then). */
export const AuthPingSchema = v.object({
  cluster: v.string(),
  secondFactor: v.picklist(['off', 'otp', 'webauthn', 'on']),
  sessionRecording: v.picklist(['node', 'off']),
  serverTime: v.optional(v.string()),
});
export type AuthPing = v.InferOutput<typeof AuthPingSchema>;

/** `POST /v1/certs/reissue` (and `/webapi/agent/reissue`): the renewed certificates; SSH only when one was sent. */
export const ReissuedCertsSchema = v.object({ sshCert: v.optional(v.string()), tlsCert: v.string() });

/** `POST /v1/audit/events` (and `/webapi/agent/events`): how many events were stored anew and how many refused. */
export const EventsIntakeSchema = v.object({ stored: v.number(), rejected: v.number() });

/** `POST /v1/nodes`: the node written and the backend revision it was written at (for read-your-writes). */
export const UpsertedNodeSchema = v.object({ hostId: v.string(), revision: v.number() });
