import type { AuditInput } from './events.ts';

/** A refused request to reach a resource, as every path audits it (proxy relay, web terminal, jump port, node). */
export interface RefusedAccess {
  /** Resource kind: `node`, or a plugin's (`db`, `kube` ...). */
  kind: string;
  /** Which path refused: `relay`, `web`, `jump`, `node`, or a plugin's name. */
  via: string;
  /** The user as their certificate names them (absent when no certificate could be read). */
  user?: string;
  /** The principal asked for (SSH login, database user ...), when the path could see it. */
  principal?: string;
  /** What the user named. */
  target: string;
  /** The client's `address:port`. */
  remote: string;
}

/**
 * The audit event of a refusal: the same fields on every path, so one query finds them all. `auth.attempt` when
 * access was refused; `resource.unreachable` when it was allowed but the resource could not be reached (a network
 * failure is not a failed authentication).
 */
export function accessRefusal(
  r: RefusedAccess,
  error: string,
  type: 'auth.attempt' | 'resource.unreachable' = 'auth.attempt',
): AuditInput {
  return {
    type,
    success: false,
    kind: r.kind,
    via: r.via,
    user: r.user,
    login: r.principal,
    target: r.target,
    error,
    'addr.remote': r.remote,
  };
}
