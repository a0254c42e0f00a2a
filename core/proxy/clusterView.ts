import type { ClusterCas } from '../agent/identityFollower.ts';
import type { AuditInput } from '../audit/events.ts';
import { EventSpool } from '../audit/spool.ts';
import type { PublicCa } from '../auth/cas.ts';
import type { StoredLock } from '../auth/locks.ts';
import { resolveNode } from '../auth/nodeNames.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import type { SecondFactor } from '../auth/secondFactor.ts';
import type { ApiClient } from '../client/apiClient.ts';
import { describe, Unavailable } from '../errors.ts';
import { log } from '../log.ts';
import type { Role } from '../rbac/index.ts';

/** A value fetched from auth and reused for `ttlMs`; concurrent callers share one request. */
class Cached<T> {
  private value: T | undefined;
  private at = 0;
  private inflight: Promise<T> | undefined;
  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}
  /** The cached value, refreshed when older than ttl; if auth is unreachable, the last value (if any) is served. */
  get(): Promise<T> {
    if (this.value !== undefined && Date.now() - this.at < this.ttlMs) return Promise.resolve(this.value);
    this.inflight ??= this.fetch()
      .then((v) => {
        this.value = v;
        this.at = Date.now();
        return v;
      })
      .catch((err: unknown) => {
        if (this.value === undefined || !(err instanceof Unavailable)) throw err;
        log.warn('auth unreachable: serving the last known state', { error: describe(err) });
        return this.value;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
  invalidate(): void {
    this.at = 0;
  }
}

/** Auth's answer to ping. */
export interface AuthPing {
  cluster: string;
  secondFactor: SecondFactor;
  sessionRecording: 'node' | 'off';
}

/** The proxy's read view of cluster state (nodes, locks, roles), cached briefly so routing never waits on auth. */
export class ClusterView {
  readonly nodesCache: Cached<NodeRecord[]>;
  private readonly locksCache: Cached<StoredLock[]>;
  private readonly rolesCache: Cached<Role[]>;
  readonly casCache: Cached<ClusterCas & { cluster: string }>;
  private readonly pingCache: Cached<AuthPing>;

  private readonly spool: EventSpool;

  constructor(
    readonly auth: ApiClient,
    ttlMs = 1000,
    spoolPath = ':memory:',
  ) {
    this.spool = new EventSpool({
      path: spoolPath,
      send: async (events) => {
        await auth.post('/v1/audit/events', { events });
      },
    });
    this.nodesCache = new Cached(() => auth.get<NodeRecord[]>('/v1/nodes'), ttlMs);
    this.locksCache = new Cached(() => auth.get<StoredLock[]>('/v1/locks'), ttlMs);
    this.rolesCache = new Cached(() => auth.get<Role[]>('/v1/roles'), ttlMs * 5);
    this.pingCache = new Cached(() => auth.get<AuthPing>('/v1/ping'), ttlMs * 5);
    this.casCache = new Cached(async () => {
      const [user, host, tls, rotation] = await Promise.all([
        auth.get<PublicCa>('/v1/cas/user'),
        auth.get<PublicCa>('/v1/cas/host'),
        auth.get<PublicCa>('/v1/cas/tls'),
        auth.get<ClusterCas['rotation']>('/v1/rotation'),
      ]);
      return { cluster: user.cluster, userCa: user.sshKeys, hostCa: host.sshKeys, tlsCa: tls.tlsCerts, rotation };
    }, ttlMs);
  }

  /** What auth says about the cluster (name, second factor, recording mode). */
  ping(): Promise<AuthPing> {
    return this.pingCache.get();
  }

  /** The cluster's CAs (signing key first, then every other trusted key) and the rotation phase. */
  cas(): Promise<ClusterCas & { cluster: string }> {
    return this.casCache.get();
  }

  nodes(): Promise<NodeRecord[]> {
    return this.nodesCache.get();
  }

  roles(): Promise<Role[]> {
    return this.rolesCache.get();
  }

  locks(): Promise<StoredLock[]> {
    return this.locksCache.get();
  }

  /** Roles by name, in the order given; unknown names are skipped (a deleted role grants nothing). */
  async rolesNamed(names: string[]): Promise<Role[]> {
    const all = await this.roles();
    return names.flatMap((n) => all.filter((r) => r.metadata.name === n));
  }

  /** The lock on this user or node, if any. */
  async lockFor(target: { user?: string; node?: NodeRecord }): Promise<StoredLock | undefined> {
    return (await this.locks()).find(
      (l) =>
        (target.user && l.target.user === target.user) ||
        (target.node && (l.target.node === target.node.name || l.target.node === target.node.hostId)),
    );
  }

  /** Whether this proxy reaches a node now; set by the proxy (its tunnels), so that live nodes win name lookups. */
  online: (n: NodeRecord) => boolean = () => true;

  /** Finds a node by host ID, name or address (see nodeNames.resolveNode: an offline record never shadows). */
  async resolveNode(query: string): Promise<NodeRecord> {
    return resolveNode(await this.nodes(), query, this.online);
  }

  /** Queues audit events in the proxy's durable spool, which delivers them to auth (later, if auth is down). */
  emit(events: AuditInput[]): void {
    this.spool.add(events);
  }

  /** Closes the spool (unsent events stay on disk for the next start). */
  close(): Promise<void> {
    return this.spool.close();
  }
}
