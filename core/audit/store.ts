import type { RecordingMeta, RecordingStatus } from '../api/schemas.ts';
import type { AuditEvent } from './events.ts';

/** Filters for searching the audit log; times are epoch ms. */
export interface AuditQuery {
  since?: number;
  until?: number;
  type?: string;
  user?: string;
  /** Only events whose user starts with this (exactly, case included). */
  userPrefix?: string;
  session?: string;
  limit?: number;
  /** Which end `limit` keeps and the order returned: oldest first (default) or newest first. */
  order?: 'oldest' | 'newest';
}

/** A stored event with its position in the log (for resumable export). */
export type CursoredEvent = AuditEvent & { cursor: number };

export type { RecordingMeta, RecordingStatus };

/**
 * Durable storage of audit events and recording metadata, with indexes for search (time, type, user, session) and a
 * text index over what sessions printed. Appends are idempotent by event ID, so a retried upload never duplicates.
 */
export interface AuditStore extends AsyncDisposable {
  /** Stores events not stored yet; returns how many were new. */
  append(events: AuditEvent[]): Promise<number>;
  /** Events matching the query, oldest first. */
  search(q: AuditQuery): Promise<AuditEvent[]>;
  /** Events after `cursor` in storage order, at most `limit`. */
  exportAfter(cursor: number, limit: number): Promise<CursoredEvent[]>;
  putRecording(meta: RecordingMeta): Promise<void>;
  getRecording(sessionId: string): Promise<RecordingMeta | undefined>;
  /** Recordings newest first; with `user`, only the sessions of that user. */
  listRecordings(limit: number, user?: string): Promise<RecordingMeta[]>;
  /** Replaces the plain text of a session's output (for `tp recordings search`). */
  putRecordingText(sessionId: string, text: string): Promise<void>;
  /** Sessions whose output contains `text` (case-insensitive), newest first; with `user`, only that user's. */
  searchRecordings(text: string, limit: number, user?: string): Promise<RecordingMeta[]>;
  close(): Promise<void>;
}
