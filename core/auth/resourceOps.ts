import type { SeenNode } from '../api/linkSchemas.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, Conflict, NotFound } from '../errors.ts';
import { nodeVisible, type Role } from '../rbac/index.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';
import type { LockStore, LockTarget, StoredLock } from './locks.ts';
import { checkNameFree, checkNodeName, nodeToRemove } from './nodeNames.ts';
import type { NodeRecord, NodeStore } from './nodes.ts';
import type { SeenNodeStore } from './nodesSeen.ts';
import type { ResourceRecordStore } from './resourceRecords.ts';
import type { RoleStore } from './roles.ts';
import type { StoredToken, TokenRole, TokenStore } from './tokens.ts';
import type { UserStore } from './users.ts';

/** What the admin resources read and write. */
export interface ResourceOpsDeps {
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  cluster: string;
  roles: RoleStore;
  users: Pick<UserStore, 'list'>;
  tokens: TokenStore;
  locks: LockStore;
  nodes: NodeStore;
  seen: SeenNodeStore;
  /** The plugins' resource records: a removed node's go with it. */
  records?: Pick<ResourceRecordStore, 'removeHost'>;
}

/** Roles, join tokens, locks and nodes: the cluster's admin resources. */
export class ResourceOps {
  constructor(private readonly d: ResourceOpsDeps) {}

  // ---- roles ----

  async listRoles(who: Identity): Promise<Role[]> {
    await this.d.authz.authorize(who, 'role', 'list');
    return this.d.roles.list();
  }

  async getRole(who: Identity, name: string): Promise<Role> {
    await this.d.authz.authorize(who, 'role', 'read');
    return this.d.roles.get(name);
  }

  /** Creates a role, or replaces it when `force` is set. */
  async putRole(who: Identity, role: Role, force: boolean): Promise<void> {
    await this.d.authz.authorize(who, 'role', force ? 'update' : 'create');
    await this.d.roles.put(role, force);
    await this.d.emit({ type: 'role.created', user: who.name, target: role.metadata.name, replaced: force });
  }

  /** Deletes a role that no user holds. */
  async deleteRole(who: Identity, name: string): Promise<void> {
    await this.d.authz.authorize(who, 'role', 'delete');
    const holders = (await this.d.users.list()).filter((u) => u.roles.includes(name)).map((u) => u.name);
    if (holders.length)
      throw new Conflict(`role "${name}" is held by ${holders.join(', ')}; remove it from them first`);
    await this.d.roles.remove(name);
    await this.d.emit({ type: 'role.deleted', user: who.name, target: name });
  }

  // ---- tokens ----

  async createToken(
    who: Identity,
    roles: TokenRole[],
    uses: 'single' | 'multi',
    ttlMs: number,
  ): Promise<{ token: string; record: StoredToken }> {
    await this.d.authz.authorize(who, 'token', 'create');
    const out = await this.d.tokens.create(roles, uses, this.d.clock.now(), ttlMs);
    await this.d.emit({ type: 'token.create', user: who.name, token_id: out.record.id, roles, uses });
    return out;
  }

  async listTokens(who: Identity): Promise<Omit<StoredToken, 'hash'>[]> {
    await this.d.authz.authorize(who, 'token', 'list');
    return (await this.d.tokens.list()).map(({ hash: _h, ...rest }) => rest);
  }

  async deleteToken(who: Identity, tokenOrId: string): Promise<void> {
    await this.d.authz.authorize(who, 'token', 'delete');
    const t = await this.d.tokens.remove(tokenOrId);
    await this.d.emit({ type: 'token.delete', user: who.name, token_id: t.id });
  }

  // ---- locks ----

  async createLock(who: Identity, target: LockTarget, message: string, ttlMs?: number): Promise<StoredLock> {
    await this.d.authz.authorize(who, 'lock', 'create');
    const lock = await this.d.locks.create(target, message, who.name, this.d.clock.now(), ttlMs);
    await this.d.emit({ type: 'lock.created', user: who.name, lock_id: lock.id, target, message });
    return lock;
  }

  async listLocks(who: Identity): Promise<StoredLock[]> {
    await this.d.authz.authorize(who, 'lock', 'list');
    return this.d.locks.list();
  }

  async deleteLock(who: Identity, id: string): Promise<void> {
    await this.d.authz.authorize(who, 'lock', 'delete');
    await this.d.locks.remove(id);
    await this.d.emit({ type: 'lock.deleted', user: who.name, lock_id: id });
  }

  // ---- nodes ----

  /**
   * Registers or renews a node and returns the write's revision; heartbeats pass `ttlMs` so a silent node drops out
   * of listings. A node writes only its own record, under the name it joined with; no caller but an admin may give a
   * node a name a live node holds. A refused heartbeat is audited.
   */
  async upsertNode(who: Identity, node: NodeRecord, ttlMs?: number): Promise<number> {
    await this.d.authz.authorize(who, 'node', 'update');
    try {
      if (who.kind === 'node') await this.checkOwnRecord(who, node);
      else if (who.kind !== 'admin') checkNameFree(await this.d.nodes.list(), node.name, node.hostId);
    } catch (err) {
      await this.d.emit({
        type: 'node.heartbeat',
        success: false,
        user: `${who.kind}:${who.name}`,
        host_id: node.hostId,
        host: node.name,
        error: (err as Error).message,
      });
      throw err;
    }
    const now = this.d.clock.now();
    const revision = await this.d.nodes.upsert(
      { ...node, lastSeen: new Date(now).toISOString() },
      ttlMs === undefined ? undefined : now + ttlMs,
    );
    if (ttlMs !== undefined) await this.d.seen.note(node, now);
    return revision;
  }

  /**
   * A node's heartbeat describes the node itself, named as at its join (the name its certificate carries); a node
   * certificate from before names were bound may use any valid name no other live node holds.
   */
  private async checkOwnRecord(who: Identity, node: NodeRecord): Promise<void> {
    if (node.hostId !== who.name)
      throw new AccessDenied(`node ${who.name} may not write the record of node ${node.hostId}`);
    if (who.hostName !== undefined) {
      if (node.name !== who.hostName)
        throw new AccessDenied(`node ${who.name} joined as "${who.hostName}" and may not call itself "${node.name}"`);
      return;
    }
    checkNodeName(node.name, this.d.cluster);
    checkNameFree(await this.d.nodes.list(), node.name, node.hostId);
  }

  /** The nodes the caller may see: every node for system identities, for users only those their roles show. */
  async listNodes(who: Identity): Promise<NodeRecord[]> {
    await this.d.authz.authorize(who, 'node', 'list');
    const nodes = await this.d.nodes.list();
    if (who.kind !== 'user') return nodes;
    const roles = await this.d.roles.rolesOf(who.roles);
    return nodes.filter((n) => nodeVisible(roles, n.labels));
  }

  /** Nodes seen in the last week (live or not) that the caller may see: what `tp ls --all` adds offline ones from. */
  async listSeenNodes(who: Identity): Promise<SeenNode[]> {
    await this.d.authz.authorize(who, 'node', 'list');
    const seen = await this.d.seen.list();
    if (who.kind !== 'user') return seen;
    const roles = await this.d.roles.rolesOf(who.roles);
    return seen.filter((n) => nodeVisible(roles, n.labels));
  }

  /**
   * Deletes the one node a host ID or name denotes (a live one, or one only seen in the last week) with the resources
   * it served; a name several nodes hold is refused, listing their IDs.
   */
  async deleteNode(who: Identity, idOrName: string): Promise<void> {
    await this.d.authz.authorize(who, 'node', 'delete');
    const live = await this.listNodes(who);
    let n: { hostId: string; name: string };
    try {
      n = nodeToRemove(live, idOrName);
      await this.d.nodes.remove(n.hostId);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      const gone = (await this.listSeenNodes(who)).filter((s) => !live.some((l) => l.hostId === s.hostId));
      n = nodeToRemove(
        gone.map((s) => ({ ...s, tunnel: false })),
        idOrName,
      );
    }
    await this.d.seen.remove(n.hostId);
    await this.d.records?.removeHost(n.hostId);
    await this.d.emit({ type: 'node.delete', user: who.name, host_id: n.hostId, host: n.name });
  }
}
