import type { DesktopInfo } from '../api/desktopSchemas.ts';
import type { Identity } from '../auth/identity.ts';
import type { ResourceRecord } from '../plugin/types.ts';
import { desktopSessionRights } from '../rbac/index.ts';
import type { Route } from '../web/router.ts';
import type { AccessRequest } from './accessGate.ts';
import type { WebNodeDeps } from './webNodeClient.ts';
import type { WebSession, WebSessionStore } from './webSessions.ts';
import { sameSiteOrigin } from './webUi.ts';

/** The desktop info endpoint; the WebSocket is the same path plus `/connect`. */
export const DESKTOP_INFO_PATH = /^\/webapi\/desktops\/([a-z0-9][a-z0-9_.-]{0,62})$/;

/** The plugin of RDP desktops: its WebSocket carries IronRDP's bytes only (no `ready` frame). */
export const RDP_PLUGIN = 'desktop-rdp';

/** The desktop's protocol as its heartbeat says (`vnc`, `rdp`), or the plugin's name. */
export function desktopProtocol(d: ResourceRecord): string {
  if (typeof d.spec.protocol === 'string') return d.spec.protocol;
  return d.plugin === RDP_PLUGIN ? 'rdp' : d.plugin;
}

/** The gate's request for a session opening desktop `name` from the web, as `login` when one is named. */
export function desktopAccess(s: WebSession, name: string, remote: string, login?: string): AccessRequest {
  return { kind: 'desktop', via: 'web', who: s.who, target: name, remote, ...(login ? { principal: login } : {}) };
}

/**
 * Resolves what a session may do on a desktop, through the gate (labels, logins, locks; a refusal is audited and
 * thrown with its reason, which the page shows) and the session's roles.
 */
export async function desktopInfo(
  deps: WebNodeDeps,
  s: WebSession,
  access: AccessRequest,
): Promise<{ desktop: ResourceRecord; info: DesktopInfo }> {
  const desktop = await deps.gate.authorize<ResourceRecord>(access);
  const rights = desktopSessionRights(await deps.view.rolesNamed(s.who.roles));
  const credentials = desktop.spec.credentials;
  const info: DesktopInfo = {
    name: desktop.name,
    protocol: desktopProtocol(desktop),
    ...(credentials === 'agent' || credentials === 'user' ? { credentials } : {}),
    ...rights,
  };
  return { desktop, info };
}

/** `GET /webapi/desktops/<name>[?login=L]`: the desktop's protocol and the session's rights, or why it is refused. */
export function desktopInfoRoutes(deps: WebNodeDeps, sessions: WebSessionStore): Route<Identity>[] {
  return [
    [
      'GET',
      DESKTOP_INFO_PATH,
      async ({ req, params, query, remote }) => {
        const s = await sessions.require(req, sameSiteOrigin(req));
        const access = desktopAccess(s, params[0]!, remote, query.get('login') ?? undefined);
        return (await desktopInfo(deps, s, access)).info;
      },
    ],
  ];
}
