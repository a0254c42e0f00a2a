// The RBAC policy of resource kind `app` (plugins/app-http): `app_labels` decide who reaches a web app; apps have
// no principal (the app itself decides what the user may do there, from the identity token it receives).
import { AccessDenied } from '../errors.ts';
import { kindVisible } from './kind.ts';
import type { KindPolicy } from './kindPolicy.ts';
import type { Role } from './schema.ts';

/** True when the roles let a user reach an app with `labels`: some allow `app_labels` match, no deny does. */
export function appVisible(roles: Role[], labels: Record<string, string>): boolean {
  return kindVisible(roles, 'app_labels', labels);
}

/** Throws AccessDenied unless the roles let the user reach app `name` (deny wins). */
export function checkAppAccess(roles: Role[], name: string, labels: Record<string, string>): void {
  if (!appVisible(roles, labels)) {
    const names = roles.map((r) => r.metadata.name).join(', ');
    throw new AccessDenied(`access to app "${name}" is not allowed by roles [${names}]`);
  }
}

/** Apps: `app_labels` alone; checked at the proxy and again at auth when the agent asks for the identity token. */
export const appPolicy: KindPolicy = {
  labelsField: 'app_labels',
  check(roles, _traits, resource) {
    checkAppAccess(roles, resource.name, resource.labels);
  },
};
