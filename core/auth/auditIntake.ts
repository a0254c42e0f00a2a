import type { AuditInput, EventType } from '../audit/events.ts';
import type { AuditLog } from '../audit/log.ts';
import { AccessDenied } from '../errors.ts';
import type { Identity } from './identity.ts';
import type { SessionOwners } from './sessionOwners.ts';

/**
 * The event types each kind of server may report: what it does itself, never logins or admin actions (auth records
 * those as it performs them). Lists what the code emits today; a new emitter adds its types here.
 */
export const EMITTABLE: Readonly<Record<string, ReadonlySet<string>>> = {
  // core/ssh/node.ts (sessions, execs, sftp, port forwards, refusals it decides) and core/agent's recording uploader.
  node: new Set<EventType>([
    'session.start',
    'session.end',
    'exec',
    'sftp',
    'port',
    'auth.attempt',
    'recording.upload_failed',
    'recording.evicted',
    // plugins/db-*: database sessions and the statements they run.
    'db.session.start',
    'db.query',
    'db.session.end',
    // plugins/app-http: web app connections and their requests.
    'app.session.start',
    'app.request',
    'app.session.end',
    // plugins/kube: each request forwarded to a cluster.
    'kube.request',
    // plugins/desktop-vnc: desktop sessions and clipboard transfers.
    'desktop.session.start',
    'desktop.session.end',
    'desktop.clipboard.send',
    'desktop.clipboard.receive',
    // test/fixtures/echoPlugin.ts, the plugin conformance suite's own.
    'echo.session.start',
    'echo.session.end',
  ]),
  // core/proxy: refusals it decides (relay, jump port, web terminal), resources it could not reach, web UI logouts,
  // the web terminal's file transfers (core/proxy/webFiles.ts), web app sessions made by the launcher and ended by an
  // app host's /tp-logout (core/proxy/appLaunch.ts, plugins/app-http/appHost.ts).
  proxy: new Set<EventType>([
    'auth.attempt',
    'resource.unreachable',
    'user.logout',
    'sftp',
    'app.session.start',
    'app.session.end',
  ]),
};

/** What became of a batch: how many events were stored anew, and how many were refused (each refusal audited). */
export interface IntakeResult {
  stored: number;
  rejected: number;
}

/** One event as a node or proxy sent it: only its type is known to be a short string. */
export type SentEvent = { type: string } & Record<string, unknown>;

const SID = /^[0-9a-f-]{36}$/;

const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : undefined);

/** The audit event that records a refused one, with an ID derived from it so a resent batch audits it once. */
function rejection(who: Identity, e: SentEvent, error: string): AuditInput {
  const id = typeof e.id === 'string' && e.id.length <= 78 ? `R-${e.id}` : undefined;
  return {
    type: 'audit.rejected',
    success: false,
    id,
    user: who.name,
    server_id: who.name,
    reported_by: `${who.kind}:${who.name}`,
    rejected_type: e.type.slice(0, 64),
    rejected_user: text(e.user),
    rejected_session: text(e.session_id),
    // The log keeps the emitter's claimed time as emitted_at.
    time: text(e.time),
    error,
  };
}

/**
 * Takes in a batch a node or proxy sent: each event must be of a type that emitter may report, and a node's event
 * about a session must be about a session it ran; `server_id` and `reported_by` name the caller, whatever the body
 * said, and the log stamps the receive time. Refused events are left out and audited as `audit.rejected`, the rest
 * are stored, so one bad event never holds up a node's spool.
 */
export async function takeInEvents(
  deps: { audit: AuditLog; sessions: SessionOwners },
  who: Identity,
  events: SentEvent[],
): Promise<IntakeResult> {
  const allowed = EMITTABLE[who.kind];
  if (!allowed) throw new AccessDenied(`${who.kind} identities report no audit events`);
  const owned = new Map<string, string | undefined>();
  const ownership = async (sessionId: string): Promise<string | undefined> => {
    if (!owned.has(sessionId)) {
      const refusal = await deps.sessions.check(sessionId, who.name).then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof AccessDenied) return err.message;
          throw err;
        },
      );
      owned.set(sessionId, refusal);
    }
    return owned.get(sessionId);
  };
  const accepted: AuditInput[] = [];
  const rejected: AuditInput[] = [];
  for (const e of events) {
    let refusal: string | undefined;
    if (!allowed.has(e.type)) refusal = `a ${who.kind} may not report ${e.type.slice(0, 64)} events`;
    else if (who.kind === 'node' && e.session_id !== undefined)
      refusal =
        typeof e.session_id === 'string' && SID.test(e.session_id)
          ? await ownership(e.session_id)
          : 'session_id is not a session ID';
    if (refusal) rejected.push(rejection(who, e, refusal));
    else
      accepted.push({
        ...(e as AuditInput),
        server_id: who.name,
        reported_by: `${who.kind}:${who.name}`,
      });
  }
  const stored = await deps.audit.emitMany(accepted);
  if (rejected.length) await deps.audit.emitMany(rejected);
  return { stored, rejected: rejected.length };
}
