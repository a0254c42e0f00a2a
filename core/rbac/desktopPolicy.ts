// The RBAC policy of resource kind `desktop` (VNC and RDP desktops): `desktop_labels` decide who reaches one,
// `desktop_logins` which account an RDP session may log in as (VNC has no account: it is not asked), and the role
// options `desktop_clipboard` and `desktop_view_only` what the session may do there. Deny wins.
import { AccessDenied } from '../errors.ts';
import { expandTemplate, type Traits } from './access.ts';
import { grantingRoles, kindVisible } from './kind.ts';
import type { KindPolicy } from './kindPolicy.ts';
import type { Role } from './schema.ts';

const LABELS = 'desktop_labels';

/** True when the roles let a user reach a desktop with `labels`: some allow `desktop_labels` match, no deny does. */
export function desktopVisible(roles: Role[], labels: Record<string, string>): boolean {
  return kindVisible(roles, LABELS, labels);
}

/** The desktop logins the roles grant on a desktop with `labels`, after templates, minus denied ones; `*` is any. */
export function allowedDesktopLogins(roles: Role[], traits: Traits, labels: Record<string, string>): string[] {
  const expand = (values: string[] | undefined) => (values ?? []).flatMap((x) => expandTemplate(x, traits));
  const denied = new Set(roles.flatMap((r) => expand(r.spec.deny.desktop_logins)));
  if (denied.has('*')) return [];
  const granted = new Set(grantingRoles(roles, LABELS, labels).flatMap((r) => expand(r.spec.allow.desktop_logins)));
  return [...granted].filter((l) => !denied.has(l));
}

/** What a desktop session may do, from the roles' options: the most restrictive role wins. */
export interface DesktopSessionRights {
  /** Clipboard both ways (browser → desktop and desktop → browser). */
  clipboard: boolean;
  /** Keyboard and pointer input are dropped. */
  viewOnly: boolean;
}

/** The session rights the roles give: clipboard unless a role turns it off, view-only if any role asks for it. */
export function desktopSessionRights(roles: Role[]): DesktopSessionRights {
  return {
    clipboard: !roles.some((r) => r.spec.options.desktop_clipboard === false),
    viewOnly: roles.some((r) => r.spec.options.desktop_view_only === true),
  };
}

/** Desktops: labels decide who reaches one; with a principal (an RDP login) it must be a granted login too. */
export const desktopPolicy: KindPolicy = {
  labelsField: LABELS,
  check(roles, traits, resource, login) {
    const names = roles.map((r) => r.metadata.name).join(', ');
    if (!desktopVisible(roles, resource.labels))
      throw new AccessDenied(`access to desktop "${resource.name}" is not allowed by roles [${names}]`);
    if (login === undefined) return;
    const logins = allowedDesktopLogins(roles, traits, resource.labels);
    if (!logins.includes('*') && !logins.includes(login))
      throw new AccessDenied(`login "${login}" on desktop "${resource.name}" is not allowed by roles [${names}]`);
  },
  principals: (roles, traits, resource) => allowedDesktopLogins(roles, traits, resource.labels),
};
