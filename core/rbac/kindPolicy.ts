import type { Traits } from './access.ts';
import type { Role } from './schema.ts';

/** What a kind's policy reads of a resource: its name and labels (a plugin's ResourceRecord has both). */
export interface PolicyResource {
  name: string;
  labels: Record<string, string>;
}

/** How RBAC judges a resource of one kind (a plugin's `policy`). */
export interface KindPolicy {
  /** The role field holding label selectors for this kind (`db_labels`). */
  labelsField: string;
  /**
   * Throws AccessDenied unless the roles grant `principal` on the resource (or, with no principal, let the user see
   * it). Checked at the proxy; agents check again with `route`.
   */
  check(roles: Role[], traits: Traits, resource: PolicyResource, principal: string | undefined): void;
  /** The principals the roles grant on the resource (`*` is any), for listings (`tp db ls`, the web UI). */
  principals?(roles: Role[], traits: Traits, resource: PolicyResource): string[];
}
