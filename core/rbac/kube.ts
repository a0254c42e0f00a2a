// RBAC for Kubernetes clusters (resource kind `kube`): `kubernetes_labels` decides which clusters a user reaches,
// `kubernetes_users` / `kubernetes_groups` whom the agent impersonates there, `kubernetes_resources` what each request
// may act on; trait templates expand, deny wins.
import { AccessDenied } from '../errors.ts';
import { expandTemplate, type Traits } from './access.ts';
import { grantingRoles, kindVisible } from './kind.ts';
import type { KindPolicy } from './kindPolicy.ts';
import { checkKubeResource, type KubeResourceTarget } from './kubeResources.ts';
import type { Role } from './schema.ts';

const LABELS = 'kubernetes_labels';
type Field = 'kubernetes_users' | 'kubernetes_groups';

function expand(values: string[] | undefined, traits: Traits): string[] {
  return (values ?? []).flatMap((v) => expandTemplate(v, traits));
}

/** What a role set grants on one cluster: the Kubernetes users and groups, after templates, minus every denied one. */
export interface KubeGrants {
  users: string[];
  groups: string[];
}

function granted(roles: Role[], traits: Traits, field: Field, granting: Role[]): string[] {
  const denied = new Set(roles.flatMap((r) => expand(r.spec.deny[field], traits)));
  if (denied.has('*')) return [];
  return [...new Set(granting.flatMap((r) => expand(r.spec.allow[field], traits)))].filter((u) => !denied.has(u));
}

/** The users and groups the roles grant on a cluster with `labels` (both empty when no role's labels match). */
export function kubeGrants(roles: Role[], traits: Traits, labels: Record<string, string>): KubeGrants {
  const granting = grantingRoles(roles, LABELS, labels);
  return {
    users: granted(roles, traits, 'kubernetes_users', granting),
    groups: granted(roles, traits, 'kubernetes_groups', granting),
  };
}

/** The identity a request runs as on the cluster: `Impersonate-User` and `Impersonate-Group`. */
export interface KubeImpersonation {
  user: string;
  groups: string[];
}

/**
 * Decides whom a request runs as, or throws AccessDenied with the reason. `asUser` / `asGroups` are what the client
 * asked for (`kubectl --as` / `--as-group`), honoured only within the grants. Without `--as`: the one granted user,
 * or the tp user's own name when the roles grant groups only; several granted users need `--as`. Groups: all granted
 * ones, or the asked subset.
 */
export function kubeImpersonation(
  roles: Role[],
  traits: Traits,
  labels: Record<string, string>,
  tpUser: string,
  asked: { user?: string; groups?: string[] } = {},
): KubeImpersonation {
  if (grantingRoles(roles, LABELS, labels).length === 0)
    throw new AccessDenied('kubernetes_labels of your roles do not match this cluster');
  const g = kubeGrants(roles, traits, labels);
  if (g.users.length === 0 && g.groups.length === 0)
    throw new AccessDenied('your roles grant no kubernetes_users or kubernetes_groups on this cluster');
  const concrete = g.users.filter((u) => u !== '*');
  let user: string;
  if (asked.user !== undefined) {
    if (!g.users.includes(asked.user) && !g.users.includes('*'))
      throw new AccessDenied(
        `impersonating user "${asked.user}" is not allowed by your roles; allowed users: ${concrete.join(', ') || 'none'}`,
      );
    user = asked.user;
  } else if (concrete.length === 1) user = concrete[0]!;
  else if (concrete.length === 0) user = tpUser;
  else
    throw new AccessDenied(
      `your roles grant several kubernetes users (${concrete.join(', ')}): choose one with kubectl --as`,
    );
  let groups = g.groups;
  if (asked.groups && asked.groups.length > 0) {
    const outside = asked.groups.filter((x) => !g.groups.includes(x));
    if (outside.length > 0)
      throw new AccessDenied(
        `impersonating group "${outside[0]}" is not allowed by your roles; allowed groups: ${g.groups.join(', ') || 'none'}`,
      );
    groups = asked.groups;
  }
  return { user, groups };
}

/**
 * Throws AccessDenied unless `kubernetes_resources` let the request act on `target` on a cluster with `labels`: the
 * roles whose kubernetes_labels match it must allow it, and no role may deny it (core/rbac/kubeResources.ts).
 */
export function checkKubeResourceAccess(
  roles: Role[],
  labels: Record<string, string>,
  target: KubeResourceTarget,
): void {
  checkKubeResource(grantingRoles(roles, LABELS, labels), roles, target);
}

/** Kubernetes clusters: `kubernetes_labels` decide who sees one; the agent decides the impersonation per request. */
export const kubePolicy: KindPolicy = {
  labelsField: LABELS,
  check(roles, _traits, resource) {
    if (!kindVisible(roles, LABELS, resource.labels))
      throw new AccessDenied(`access to kubernetes cluster "${resource.name}" is not allowed by your roles`);
  },
  principals: (roles, traits, resource) => kubeGrants(roles, traits, resource.labels).users,
};
