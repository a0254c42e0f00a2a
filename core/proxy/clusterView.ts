import * as v from 'valibot';
import type { ApiClient } from '../api/client.ts';
import { type AuthPing, AuthPingSchema, EventsIntakeSchema } from '../api/hostSchemas.ts';
import { ResourceRecordSchema } from '../api/resourceSchemas.ts';
import type { AuditInput } from '../audit/events.ts';
import { EventSpool } from '../audit/spool.ts';
import type { StoredLock } from '../auth/locks.ts';
import { resolveNode } from '../auth/nodeNames.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import { type Clock, systemClock } from '../clock.ts';
import { describe, Unavailable } from '../errors.ts';
import type { ClusterCas } from '../identity/follower.ts';
import { replicaCas } from '../identity/replicaCas.ts';
import type { IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { ResourceRecord } from '../plugin/types.ts';
import { type LockSubject, lockApplies, type Role, resolveRoles } from '../rbac/index.ts';
import { parseBatch, parseSnapshot, type StateKind } from '../state/items.ts';
import { Replica, type StateSource } from '../state/replica.ts';
import { pickResource } from './resourceResolve.ts';

const PING_TTL_MS = 5_000;
const SNAPSHOT_TIMEOUT_MS = 60_000;

/** Auth's change stream, read over the auth API with the proxy's identity. */
export function authStateSource(auth: ApiClient): StateSource {
  return {
    // A snapshot of a large cluster (10,000 nodes) may take longer than an ordinary call.
    snapshot: (signal) =>
      auth.send(parseSnapshot, 'GET', '/v1/watch/snapshot', undefined, {}, { signal, timeoutMs: SNAPSHOT_TIMEOUT_MS }),
    changes: (after, waitMs, signal) =>
      auth.send(
        parseBatch,
        'GET',
        `/v1/watch/changes?after=${after}&waitMs=${waitMs}`,
        undefined,
        {},
        {
          signal,
          timeoutMs: waitMs + 15_000,
        },
      ),
  };
}

/**
 * The proxy's read view of cluster state: a watched replica of auth's nodes, resources, roles, locks, CAs and rotation phase
 * (one snapshot, then changes as they happen), so routing never waits on auth and keeps working while auth is down.
 */
export class ClusterView {
  /** The watched copy of cluster state (agents follow its feed through the proxy). */
  readonly replica: Replica;
  private pingValue: AuthPing | undefined;
  private pingAt = 0;
  private pingInflight: Promise<AuthPing> | undefined;
  private readonly spool: EventSpool;

  constructor(
    readonly auth: ApiClient,
    spoolPath = ':memory:',
    source: StateSource = authStateSource(auth),
    readonly clock: Clock = systemClock,
    ids?: IdSource,
  ) {
    this.spool = new EventSpool({
      path: spoolPath,
      clock,
      ids,
      send: async (events) => {
        await auth.send(EventsIntakeSchema, 'POST', '/v1/audit/events', { events });
      },
    });
    this.replica = new Replica(source, { from: 'auth' });
    this.replica.start();
  }

  /** What auth says about the cluster (name, second factor, recording mode), reread after 5 s; the last answer while auth is down. */
  async ping(): Promise<AuthPing> {
    if (this.pingValue && this.clock.now() - this.pingAt < PING_TTL_MS) return this.pingValue;
    this.pingInflight ??= this.auth
      .send(AuthPingSchema, 'GET', '/v1/ping')
      .then((p) => {
        this.pingValue = p;
        this.pingAt = this.clock.now();
        return p;
      })
      .catch((err: unknown) => {
        if (!this.pingValue || !(err instanceof Unavailable)) throw err;
        log.warn('auth unreachable: serving the last known settings', { error: describe(err) });
        return this.pingValue;
      })
      .finally(() => {
        this.pingInflight = undefined;
      });
    return this.pingInflight;
  }

  /** The cluster's CAs (signing key first, then every other trusted key) and the rotation phase. */
  async cas(): Promise<ClusterCas & { cluster: string }> {
    await this.replica.ready();
    const cas = replicaCas(this.replica);
    if (!cas) throw new Unavailable("the cluster's CAs are not known yet");
    return cas;
  }

  async nodes(): Promise<NodeRecord[]> {
    return this.read<NodeRecord>('node');
  }

  async roles(): Promise<Role[]> {
    return this.read<Role>('role');
  }

  async locks(): Promise<StoredLock[]> {
    return this.read<StoredLock>('lock');
  }

  /** Roles by name, in the order given; a name the cluster has no role for is refused, naming it. */
  async rolesNamed(names: string[]): Promise<Role[]> {
    await this.replica.ready();
    return resolveRoles(names, (n) => this.replica.get<Role>('role', n));
  }

  /** The first lock on this user or node, if any. */
  async lockFor(subject: LockSubject): Promise<StoredLock | undefined> {
    return (await this.locks()).find((l) => lockApplies(l, subject));
  }

  /** Resolves once the view holds every change up to `revision` (a write's), or after `ms`; false on timeout. */
  async caughtUp(revision: number, ms = 2_000): Promise<boolean> {
    return this.replica.waitForRevision(revision, ms);
  }

  /** Whether this proxy reaches a node now; set by the proxy (its tunnels), so that live nodes win name lookups. */
  online: (n: NodeRecord) => boolean = () => true;

  /**
   * Every live record of the plugins' resources of `kind` (several per name when several agents serve it); a
   * replicated document that is not a resource record is left out, never routed to.
   */
  async resources(kind: string): Promise<ResourceRecord[]> {
    return (await this.read<unknown>('resource')).filter(
      (r): r is ResourceRecord => v.is(ResourceRecordSchema, r) && r.kind === kind,
    );
  }

  /** The resource records of `kind` held now, without waiting for the first snapshot (TLS server name routing). */
  resourcesNow(kind: string): ResourceRecord[] {
    return this.replica
      .list<unknown>('resource')
      .filter((r): r is ResourceRecord => v.is(ResourceRecordSchema, r) && r.kind === kind);
  }

  /** Whether the agent serving a resource record is reachable now (its node record is live and online). */
  resourceOnline(r: ResourceRecord): boolean {
    const node = this.replica.get<NodeRecord>('node', r.hostId);
    return node !== undefined && this.online(node);
  }

  /**
   * The record to dial for the resource of `kind` named `target`: one whose agent is reachable now (tunnel or
   * direct address), the last heard from; NotFound, Unavailable (all offline) or BadParameter (plugins disagree).
   */
  async resolveResource(kind: string, target: string): Promise<ResourceRecord> {
    return pickResource(await this.resources(kind), kind, target, (r) => this.resourceOnline(r));
  }

  /** Finds a node by host ID, name or address (see nodeNames.resolveNode: an offline record never shadows). */
  async resolveNode(query: string): Promise<NodeRecord> {
    return resolveNode(await this.nodes(), query, this.online);
  }

  /** Queues audit events in the proxy's durable spool, which delivers them to auth (later, if auth is down). */
  emit(events: AuditInput[]): void {
    this.spool.add(events);
  }

  /** Stops following auth and closes the spool (unsent events stay on disk for the next start). */
  async close(): Promise<void> {
    await this.replica.close();
    await this.spool.close();
  }

  private async read<T>(kind: StateKind): Promise<T[]> {
    await this.replica.ready();
    return this.replica.list<T>(kind);
  }
}
