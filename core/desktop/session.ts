// What every desktop plugin's session shares: the audit fields its events carry and its start event, the roles'
// check on the desktop, and the words for why a direction of the session stopped.
import type { AuditInput } from '../audit/events.ts';
import { describe } from '../errors.ts';
import type { AgentPluginContext, PluginSession } from '../plugin/types.ts';
import { type DesktopSessionRights, desktopPolicy, type Role, resolveRoles } from '../rbac/index.ts';
import { reason, StreamEnded } from './byteReader.ts';

/** The desktop a session is on, as its plugin's entry names it. */
export interface SessionDesktop {
  name: string;
  labels: Record<string, string>;
}

/** The audit fields every event of a session on `desktop` carries; `login` is the account as far as it is known. */
export function desktopSessionFields(
  ctx: AgentPluginContext,
  s: PluginSession,
  desktop: SessionDesktop,
  protocol: string,
  login: string,
): Record<string, string> {
  return {
    user: s.user?.name ?? '',
    session_id: s.id,
    server_id: ctx.hostId,
    desktop_name: desktop.name,
    login,
    protocol,
    'addr.remote': s.client,
  };
}

/** The audit event of a session that started, with the rights its roles gave it. */
export function sessionStarted(fields: Record<string, string>, rights: DesktopSessionRights): AuditInput {
  return {
    type: 'desktop.session.start',
    success: true,
    ...fields,
    view_only: rights.viewOnly,
    clipboard: rights.clipboard,
  };
}

/**
 * The session user's roles, once they grant `desktop` (its labels; the login too when the client named one);
 * throws the policy's AccessDenied (or the roles' lookup error) otherwise.
 */
export function checkDesktopAccess(ctx: AgentPluginContext, s: PluginSession, desktop: SessionDesktop): Role[] {
  const user = s.user!;
  const roles = resolveRoles(user.roles, (n) => ctx.state.roles().find((r) => r.metadata.name === n));
  desktopPolicy.check(roles, user.traits, desktop, s.route.login || undefined);
  return roles;
}

/**
 * Why a direction stopped, in words: the session's abort reason, a peer closing, or the protocol error (naming
 * `from`, the side it came from, when given).
 */
export function stopReason(err: unknown, signal: AbortSignal, from?: string): string {
  if (signal.aborted) return reason(signal);
  if (err instanceof StreamEnded) return err.message;
  return from ? `protocol error from ${from}: ${describe(err)}` : `protocol error: ${describe(err)}`;
}
