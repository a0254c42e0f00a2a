import { accessRefusal } from '../audit/accessRefusal.ts';
import { lockedError } from '../auth/locks.ts';
import { AccessDenied, TpError, Unavailable } from '../errors.ts';
import type { AccessRequest, KindPolicy, ResourceGate } from '../plugin/types.ts';
import { checkNodeAccess, type LockSubject, nodeVisible, type Role, type Traits } from '../rbac/index.ts';
import type { ClusterView } from './clusterView.ts';

export type { AccessRequest, Requester } from '../plugin/types.ts';

/** A resource as the gate judges it: its name, what a lock on it names, and whether roles grant the principal. */
export interface GuardedResource<R> {
  resource: R;
  /** The resource's name, in refusals (`node "web-1" is locked: ...`). */
  name: string;
  /** What a lock on this resource may name: a node's name or host ID, or a plugin resource's `<kind>/<name>`. */
  lock: Pick<LockSubject, 'node' | 'resource'>;
  /** Throws AccessDenied unless the roles grant `principal` here (or, with no principal, let the user see it). */
  check(roles: Role[], traits: Traits, principal: string | undefined): void;
}

/** How the gate finds one kind of resource from what a user named. */
export type ResourcePolicy = (view: ClusterView, target: string) => Promise<GuardedResource<unknown>>;

/** SSH nodes: resolved by host ID, name or address; logins checked against the roles' logins and node labels. */
export const nodePolicy: ResourcePolicy = async (view, target) => {
  const node = await view.resolveNode(target);
  return {
    resource: node,
    name: node.name,
    lock: { node: { name: node.name, hostId: node.hostId } },
    check: (roles, traits, login) => {
      if (login !== undefined) return checkNodeAccess(roles, traits, login, node.labels);
      if (!nodeVisible(roles, node.labels))
        throw new AccessDenied(`access to node "${node.name}" is not allowed by your roles`);
    },
  };
};

/**
 * A plugin kind's resources (`db`, `kube` ...): resolved to a record whose agent is reachable now
 * (ClusterView.resolveResource), locked by `<kind>/<name>`, judged by the kind's policy (labels, principal).
 */
export function resourcePolicy(kind: string, policy: KindPolicy): ResourcePolicy {
  return async (view, target) => {
    const record = await view.resolveResource(kind, target);
    return {
      resource: record,
      name: record.name,
      lock: { resource: `${kind}/${record.name}` },
      check: (roles, traits, principal) => policy.check(roles, traits, record, principal),
    };
  };
}

/**
 * Registers the policy of every plugin kind that brings one (plugins of one kind share it: the first plugin's
 * policy is the kind's, and a plugin of that kind with a different policy is a start-up error).
 */
export function registerKindPolicies(
  gate: AccessGate,
  plugins: { name: string; kind: string; policy?: KindPolicy }[],
): void {
  const chosen = new Map<string, { plugin: string; policy: KindPolicy }>();
  for (const p of plugins) {
    if (!p.policy) continue;
    const first = chosen.get(p.kind);
    if (!first) chosen.set(p.kind, { plugin: p.name, policy: p.policy });
    else if (first.policy !== p.policy) {
      throw new TpError(`plugins "${first.plugin}" and "${p.name}" give kind "${p.kind}" different policies`);
    }
  }
  for (const [kind, { policy }] of chosen) gate.registerKind(kind, policy);
}

/**
 * The one decision of whether a request reaches a resource, for every path into the proxy: resolve what the user
 * named, refuse a locked user or resource, check the user's roles, and audit every refusal with the same fields.
 */
export class AccessGate implements ResourceGate {
  private readonly audited = new WeakSet<object>();
  private readonly kinds = new Map<string, KindPolicy>();

  constructor(
    private readonly view: ClusterView,
    private readonly policies: Record<string, ResourcePolicy> = { node: nodePolicy },
  ) {}

  /** Adds the policy of a resource kind (a plugin's); a kind already known is a start-up error. */
  register(kind: string, policy: ResourcePolicy): void {
    if (this.policies[kind]) throw new TpError(`resource kind "${kind}" is registered twice`);
    this.policies[kind] = policy;
  }

  /** Adds a plugin kind judged by its KindPolicy (resolution by ClusterView.resolveResource, locks by `<kind>/<name>`). */
  registerKind(kind: string, policy: KindPolicy): void {
    this.register(kind, resourcePolicy(kind, policy));
    this.kinds.set(kind, policy);
  }

  /** The policy of a plugin kind registered with `registerKind` (listings filter by it); undefined for others. */
  kindPolicy(kind: string): KindPolicy | undefined {
    return this.kinds.get(kind);
  }

  /** The plugin kinds registered with `registerKind`, sorted. */
  pluginKinds(): string[] {
    return [...this.kinds.keys()].sort();
  }

  /** Returns the resource if the request may reach it; otherwise audits the refusal and throws it. */
  async authorize<R>(req: AccessRequest): Promise<R> {
    try {
      const policy = this.policies[req.kind];
      if (!policy) throw new AccessDenied(`no resources of kind "${req.kind}" are served here`);
      const r = await policy(this.view, req.target);
      const userLock = await this.view.lockFor({ user: req.who.name, botInstance: req.who.bot?.instance });
      if (userLock) throw lockedError(`user "${req.who.name}"`, userLock);
      const resourceLock = await this.view.lockFor(r.lock);
      if (resourceLock) throw lockedError(`${req.kind} "${r.name}"`, resourceLock);
      r.check(await this.view.rolesNamed(req.who.roles), req.who.traits ?? {}, req.principal);
      return r.resource as R;
    } catch (err) {
      this.refused(req, err);
      throw err;
    }
  }

  /** Audits a request that failed on its way to the resource (once per error, whoever noticed it first). */
  refused(req: AccessRequest, err: unknown): void {
    if (err instanceof Object) {
      if (this.audited.has(err)) return;
      this.audited.add(err);
    }
    const error = err instanceof TpError ? err.message : err instanceof Error ? err.message : String(err);
    this.view.emit([
      accessRefusal(
        {
          kind: req.kind,
          via: req.via,
          user: req.who.name,
          principal: req.principal,
          target: req.target,
          remote: req.remote,
        },
        error,
        err instanceof Unavailable ? 'resource.unreachable' : 'auth.attempt',
      ),
    ]);
  }
}
