import { AccessDenied } from '../errors.ts';
import type { Role } from './schema.ts';

/**
 * The roles a certificate names, in its order; a name the cluster has no role for is refused, naming it
 * (`role "sso-dev" is unknown to this cluster`), never silently dropped.
 */
export function resolveRoles(names: string[], lookup: (name: string) => Role | undefined): Role[] {
  const found = names.map(lookup);
  const missing = names.filter((_, i) => !found[i]);
  if (missing.length > 0) {
    const quoted = missing.map((n) => `"${n}"`).join(', ');
    throw new AccessDenied(
      missing.length === 1
        ? `role ${quoted} is unknown to this cluster`
        : `roles ${quoted} are unknown to this cluster`,
      { roles: missing },
    );
  }
  return found as Role[];
}
