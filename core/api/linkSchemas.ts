// What agents report about their link to the cluster, and the last sighting of nodes (`tp ls --all`).
import * as v from 'valibot';

const LinkReasonSchema = v.picklist(['dns', 'connect', 'tls', 'clock_skew', 'identity_rejected', 'cert_expired']);
const IsoTime = v.pipe(v.string(), v.maxLength(40));

/** What an agent says about its link in a heartbeat (core/agent/linkHealth.ts): degraded and why, its last outage. */
export const LinkReportSchema = v.strictObject({
  state: v.picklist(['online', 'degraded']),
  reason: v.optional(LinkReasonSchema),
  skewMs: v.optional(v.pipe(v.number(), v.integer())),
  lastOutage: v.optional(v.strictObject({ reason: LinkReasonSchema, from: IsoTime, to: IsoTime })),
});
export type LinkReportRecord = v.InferOutput<typeof LinkReportSchema>;

/** A node as last seen (`GET /v1/nodes/seen`): kept for days after its record lapsed, for `tp ls --all`. */
export const SeenNodeSchema = v.object({
  hostId: v.string(),
  name: v.string(),
  labels: v.record(v.string(), v.string()),
  lastSeen: v.string(),
  link: v.optional(LinkReportSchema),
});
export type SeenNode = v.InferOutput<typeof SeenNodeSchema>;
