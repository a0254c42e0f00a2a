import type { AuditEvent } from '../audit/events.ts';
import type { AuditQuery } from '../audit/log.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import { AccessDenied, AlreadyExists, Conflict, NotFound } from '../errors.ts';
import { nodeVisible, type Role } from '../rbac/index.ts';
import { type IntakeResult, type SentEvent, takeInEvents } from './auditIntake.ts';
import type { Identity } from './identity.ts';
import type { LockTarget, StoredLock } from './locks.ts';
import { checkNameFree, checkNodeName, nodeToRemove } from './nodeNames.ts';
import type { NodeRecord } from './nodes.ts';
import type { AuthService } from './service.ts';
import type { StoredToken, TokenRole } from './tokens.ts';

/** Roles, join tokens, locks, nodes and the audit log: the cluster's admin resources. */
export class ResourceOps {
  constructor(private readonly s: AuthService) {}

  // ---- roles ----

  async listRoles(who: Identity): Promise<Role[]> {
    await this.s.authorize(who, 'role', 'list');
    return listDocs<Role>(this.s.deps.backend, '/roles/');
  }

  async getRole(who: Identity, name: string): Promise<Role> {
    await this.s.authorize(who, 'role', 'read');
    const doc = await getDoc<Role>(this.s.deps.backend, `/roles/${name}`);
    if (!doc) throw new NotFound(`role "${name}" not found`);
    return doc.value;
  }

  /** Creates a role, or replaces it when `force` is set. */
  async putRole(who: Identity, role: Role, force: boolean): Promise<void> {
    await this.s.authorize(who, 'role', force ? 'update' : 'create');
    const item = { key: `/roles/${role.metadata.name}`, value: JSON.stringify(role) };
    if (force) await this.s.deps.backend.put(item);
    else
      await this.s.deps.backend.create(item).catch((err: unknown) => {
        if (err instanceof AlreadyExists)
          throw new AlreadyExists(`role "${role.metadata.name}" already exists (use --force to replace it)`);
        throw err;
      });
    await this.s.emit({ type: 'role.created', user: who.name, target: role.metadata.name, replaced: force });
  }

  /** Deletes a role that no user holds. */
  async deleteRole(who: Identity, name: string): Promise<void> {
    await this.s.authorize(who, 'role', 'delete');
    const holders = (await this.s.deps.users.list()).filter((u) => u.roles.includes(name)).map((u) => u.name);
    if (holders.length)
      throw new Conflict(`role "${name}" is held by ${holders.join(', ')}; remove it from them first`);
    await this.s.deps.backend.delete(`/roles/${name}`).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`role "${name}" not found`);
      throw err;
    });
    await this.s.emit({ type: 'role.deleted', user: who.name, target: name });
  }

  // ---- tokens ----

  async createToken(
    who: Identity,
    roles: TokenRole[],
    uses: 'single' | 'multi',
    ttlMs: number,
  ): Promise<{ token: string; record: StoredToken }> {
    await this.s.authorize(who, 'token', 'create');
    const out = await this.s.deps.tokens.create(roles, uses, this.s.deps.clock.now(), ttlMs);
    await this.s.emit({ type: 'token.create', user: who.name, token_id: out.record.id, roles, uses });
    return out;
  }

  async listTokens(who: Identity): Promise<Omit<StoredToken, 'hash'>[]> {
    await this.s.authorize(who, 'token', 'list');
    return (await this.s.deps.tokens.list()).map(({ hash: _h, ...rest }) => rest);
  }

  async deleteToken(who: Identity, tokenOrId: string): Promise<void> {
    await this.s.authorize(who, 'token', 'delete');
    const t = await this.s.deps.tokens.remove(tokenOrId);
    await this.s.emit({ type: 'token.delete', user: who.name, token_id: t.id });
  }

  // ---- locks ----

  async createLock(who: Identity, target: LockTarget, message: string, ttlMs?: number): Promise<StoredLock> {
    await this.s.authorize(who, 'lock', 'create');
    const lock = await this.s.deps.locks.create(target, message, who.name, this.s.deps.clock.now(), ttlMs);
    await this.s.emit({ type: 'lock.created', user: who.name, lock_id: lock.id, target, message });
    return lock;
  }

  async listLocks(who: Identity): Promise<StoredLock[]> {
    await this.s.authorize(who, 'lock', 'list');
    return this.s.deps.locks.list();
  }

  async deleteLock(who: Identity, id: string): Promise<void> {
    await this.s.authorize(who, 'lock', 'delete');
    await this.s.deps.locks.remove(id);
    await this.s.emit({ type: 'lock.deleted', user: who.name, lock_id: id });
  }

  // ---- nodes ----

  /**
   * Registers or renews a node and returns the write's revision; heartbeats pass `ttlMs` so a silent node drops out
   * of listings. A node writes only its own record, under the name it joined with; no caller but an admin may give a
   * node a name a live node holds. A refused heartbeat is audited.
   */
  async upsertNode(who: Identity, node: NodeRecord, ttlMs?: number): Promise<number> {
    await this.s.authorize(who, 'node', 'update');
    try {
      if (who.kind === 'node') await this.checkOwnRecord(who, node);
      else if (who.kind !== 'admin') checkNameFree(await this.s.deps.nodes.list(), node.name, node.hostId);
    } catch (err) {
      await this.s.emit({
        type: 'node.heartbeat',
        success: false,
        user: `${who.kind}:${who.name}`,
        host_id: node.hostId,
        host: node.name,
        error: (err as Error).message,
      });
      throw err;
    }
    const now = this.s.deps.clock.now();
    return this.s.deps.nodes.upsert(
      { ...node, lastSeen: new Date(now).toISOString() },
      ttlMs === undefined ? undefined : now + ttlMs,
    );
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
    checkNodeName(node.name, this.s.deps.cluster);
    checkNameFree(await this.s.deps.nodes.list(), node.name, node.hostId);
  }

  /** The nodes the caller may see: every node for system identities, for users only those their roles show. */
  async listNodes(who: Identity): Promise<NodeRecord[]> {
    await this.s.authorize(who, 'node', 'list');
    const nodes = await this.s.deps.nodes.list();
    if (who.kind !== 'user') return nodes;
    const roles = await this.s.rolesOf(who.roles);
    return nodes.filter((n) => nodeVisible(roles, n.labels));
  }

  /** Deletes the one node a host ID or name denotes; a name several nodes hold is refused, listing their IDs. */
  async deleteNode(who: Identity, idOrName: string): Promise<void> {
    await this.s.authorize(who, 'node', 'delete');
    const n = nodeToRemove(await this.listNodes(who), idOrName);
    await this.s.deps.nodes.remove(n.hostId);
    await this.s.emit({ type: 'node.delete', user: who.name, host_id: n.hostId, host: n.name });
  }

  // ---- audit ----

  async searchAudit(who: Identity, q: AuditQuery): Promise<AuditEvent[]> {
    await this.s.authorize(who, 'audit', 'list');
    return this.s.deps.audit.search(q);
  }

  /** Stores events sent by nodes and proxies within what each may report (see auditIntake.ts). */
  async emitAudit(who: Identity, events: SentEvent[]): Promise<IntakeResult> {
    await this.s.authorize(who, 'audit', 'emit');
    return takeInEvents({ audit: this.s.deps.audit, sessions: this.s.sessions }, who, events);
  }
}
