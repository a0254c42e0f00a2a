import type { AuditEvent } from '../audit/events.ts';
import type { AuditLog, AuditQuery } from '../audit/log.ts';
import type { CursoredEvent } from '../audit/store.ts';
import { type IntakeResult, type SentEvent, takeInEvents } from './auditIntake.ts';
import type { Authorizer } from './authorizer.ts';
import type { Identity } from './identity.ts';
import type { SessionOwners } from './sessionOwners.ts';

/** Most events one export page returns, whatever the caller asked for. */
const EXPORT_PAGE_MAX = 10_000;

/** What the audit service reads and writes. */
export interface AuditOpsDeps {
  authz: Authorizer;
  audit: AuditLog;
  sessions: SessionOwners;
}

/** The audit log as callers see it: search, export, and events sent in by nodes and proxies. */
export class AuditOps {
  constructor(private readonly d: AuditOpsDeps) {}

  /** Events matching the query, for those whose roles allow listing the audit log. */
  async search(who: Identity, q: AuditQuery): Promise<AuditEvent[]> {
    await this.d.authz.authorize(who, 'audit', 'list');
    return this.d.audit.search(q);
  }

  /** Events stored after `cursor`, oldest first, at most `limit` (default 1000, never more than 10000). */
  async exportAfter(who: Identity, cursor = 0, limit = 1000): Promise<CursoredEvent[]> {
    await this.d.authz.authorize(who, 'audit', 'list');
    return this.d.audit.store.exportAfter(cursor, Math.min(limit, EXPORT_PAGE_MAX));
  }

  /** Stores events sent by nodes and proxies within what each may report (see auditIntake.ts). */
  async intake(who: Identity, events: SentEvent[]): Promise<IntakeResult> {
    await this.d.authz.authorize(who, 'audit', 'emit');
    return takeInEvents({ audit: this.d.audit, sessions: this.d.sessions }, who, events);
  }
}
