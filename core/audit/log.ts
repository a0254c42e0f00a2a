import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { StorageConfig } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { type AuditEvent, type AuditInput, codeOf } from './events.ts';
import { PostgresAuditStore } from './postgresStore.ts';
import { SqliteAuditStore } from './sqliteStore.ts';
import type { AuditQuery, AuditStore } from './store.ts';

export type { AuditQuery } from './store.ts';

/** Opens the audit store beside the cluster state: audit.sqlite in the data dir, or the PostgreSQL database. */
export async function openAuditStore(storage: StorageConfig, dataDir: string): Promise<AuditStore> {
  if (storage.type === 'postgres' && storage.url) return PostgresAuditStore.open(storage.url);
  return new SqliteAuditStore(join(dataDir, 'audit.sqlite'));
}

const ID = /^[0-9A-Za-z:.TZ-]{10,80}$/;

/** The cluster's durable audit log. */
export class AuditLog {
  constructor(
    readonly store: AuditStore,
    private readonly clock: Clock,
    private readonly cluster: string,
  ) {}

  /**
   * Completes an event (id, code, time, cluster) without storing it. `time` is when this log received it; an
   * emitter's own time is kept as `emitted_at`, and its own ID (so a resent event is stored once).
   */
  complete(input: AuditInput): AuditEvent {
    const { time: sent, emitted_at: _claimed, ...rest } = input;
    const success = input.success ?? true;
    const time = new Date(this.clock.now()).toISOString();
    const emitted = typeof sent === 'string' && !Number.isNaN(Date.parse(sent)) ? { emitted_at: sent } : {};
    const id = typeof input.id === 'string' && ID.test(input.id) ? input.id : `${time}-${randomUUID()}`;
    return { ...rest, ...emitted, id, code: codeOf(input.type, success), time, cluster: this.cluster, success };
  }

  /** Stores an event durably and returns it as stored. */
  async emit(input: AuditInput): Promise<AuditEvent> {
    const event = this.complete(input);
    await this.store.append([event]);
    return event;
  }

  /** Stores a batch (from a node's or proxy's spool); events already stored are skipped. */
  async emitMany(inputs: AuditInput[]): Promise<number> {
    return this.store.append(inputs.map((i) => this.complete(i)));
  }

  /** Events matching the query, oldest first unless `order: 'newest'`, at most `limit` (default 1000). */
  search(q: AuditQuery = {}): Promise<AuditEvent[]> {
    return this.store.search(q);
  }
}
