import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../api/client.ts';
import { AckSchema } from '../api/schemas.ts';
import type { AuditInput } from '../audit/events.ts';
import { listSpooled, partName, type SpooledSession } from '../audit/recording.ts';
import type { RecordingMeta } from '../audit/store.ts';
import { type Clock, systemClock } from '../clock.ts';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { type Backoff, backoffDelay } from '../net/backoff.ts';

/** Where the uploader sends things (through the proxy, as this node). */
export interface RecordingSink {
  putMeta(meta: RecordingMeta): Promise<void>;
  putPart(sessionId: string, n: number, data: Buffer): Promise<void>;
}

/** The sink an agent uploads through: the proxy's recording endpoints, as the node. */
export function proxyRecordingSink(api: ApiClient): RecordingSink {
  return {
    putMeta: async (meta) => {
      await api.send(AckSchema, 'POST', `/webapi/agent/recordings/${meta.sessionId}`, { meta });
    },
    putPart: async (sid, n, data) => {
      await api.send(AckSchema, 'POST', `/webapi/agent/recordings/${sid}/parts/${n}`, {
        data: data.toString('base64'),
      });
    },
  };
}

export interface UploaderOptions {
  dir: string;
  sink: RecordingSink;
  /** Audit events (upload failures, evictions) go through the node's event spool. */
  emit(events: AuditInput[]): void;
  /** Attempts per session before it is marked failed. Default 8. */
  maxAttempts?: number;
  backoff?: Backoff;
  /** The spool never holds more than this; the oldest failed recordings are evicted first. Default 512 MiB. */
  maxBytes?: number;
  intervalMs?: number;
  /** Times retries and stamps interrupted sessions. Default the wall clock. */
  clock?: Clock;
}

interface Attempt {
  count: number;
  next: number;
}

/** Marker file of a session whose upload failed for good (holds the error). */
const FAILED = 'failed';

const hasFailed = (s: SpooledSession) => existsSync(join(s.dir, FAILED));

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

/**
 * Uploads spooled recordings part by part (a part leaves the disk only once stored), then the final metadata.
 * Each session gets `maxAttempts` tries with backoff; then it is marked failed, reported, and kept on disk within
 * the spool's byte cap. Sessions left 'recording' by a crash are sent as 'interrupted'.
 */
export class RecordingUploader {
  private readonly attempts = new Map<string, Attempt>();
  private readonly timer: ReturnType<typeof setInterval>;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly clock: Clock;

  constructor(private readonly o: UploaderOptions) {
    this.clock = o.clock ?? systemClock;
    for (const s of listSpooled(o.dir)) {
      // Whatever a previous run left mid-session was cut short by a crash or a kill.
      if (s.meta.status === 'recording')
        this.saveMeta(s, {
          ...s.meta,
          status: 'interrupted',
          endedAt: s.meta.endedAt ?? new Date(this.clock.now()).toISOString(),
        });
      // A restart (e.g. after fixing the store) gives failed uploads a fresh set of attempts.
      rmSync(join(s.dir, FAILED), { force: true });
    }
    this.timer = setInterval(() => this.kick(), o.intervalMs ?? 2000);
    this.timer.unref?.();
    this.kick();
  }

  private saveMeta(s: SpooledSession, meta: RecordingMeta): void {
    s.meta = meta;
    writeFileSync(join(s.dir, 'meta.json'), JSON.stringify(meta), { mode: 0o600 });
  }

  private scheduled: ReturnType<typeof setTimeout> | undefined;

  /** Starts an upload pass soon (kicks within 50 ms share one pass) unless one is running. */
  kick(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      if (this.closed) return;
      this.running ??= this.pass().finally(() => {
        this.running = undefined;
      });
    }, 50);
  }

  /** Waits for the current pass. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async pass(): Promise<void> {
    for (const s of listSpooled(this.o.dir)) {
      if (this.closed) return;
      const a = this.attempts.get(s.meta.sessionId) ?? { count: 0, next: 0 };
      if (hasFailed(s) || this.clock.now() < a.next) continue;
      try {
        await this.upload(s);
        this.attempts.delete(s.meta.sessionId);
      } catch (err) {
        a.count++;
        a.next = this.clock.now() + backoffDelay(this.o.backoff ?? { baseMs: 1000, maxMs: 60_000 }, a.count - 1);
        this.attempts.set(s.meta.sessionId, a);
        if (a.count >= (this.o.maxAttempts ?? 8)) await this.giveUp(s, describe(err));
        else
          log.warn('recording upload failed; will retry', {
            session: s.meta.sessionId,
            attempt: a.count,
            error: describe(err),
          });
      }
    }
    this.evict();
  }

  private async upload(s: SpooledSession): Promise<void> {
    for (const n of s.parts) {
      const file = join(s.dir, partName(n));
      await this.o.sink.putPart(s.meta.sessionId, n, readFileSync(file));
      unlinkSync(file);
    }
    const ended = s.meta.status === 'complete' || s.meta.status === 'interrupted';
    await this.o.sink.putMeta(ended ? s.meta : { ...s.meta, status: 'recording' });
    if (ended) rmSync(s.dir, { recursive: true, force: true });
  }

  private async giveUp(s: SpooledSession, error: string): Promise<void> {
    log.error('recording upload failed for good; kept on disk', { session: s.meta.sessionId, error });
    writeFileSync(join(s.dir, FAILED), error, { mode: 0o600 });
    const failed = { ...s.meta, status: 'failed' as const, error };
    this.o.emit([
      { type: 'recording.upload_failed', success: false, session_id: s.meta.sessionId, user: s.meta.user, error },
    ]);
    try {
      await this.o.sink.putMeta(failed);
    } catch (err) {
      log.warn('could not report the failed upload to auth', { session: s.meta.sessionId, error: describe(err) });
    }
  }

  /** Keeps the spool under its byte cap by deleting the oldest failed recordings (each one reported). */
  private evict(): void {
    const max = this.o.maxBytes ?? 512 * 1024 * 1024;
    const sessions = listSpooled(this.o.dir);
    let total = sessions.reduce((n, s) => n + dirBytes(s.dir), 0);
    for (const s of sessions) {
      if (total <= max) return;
      if (!hasFailed(s)) continue;
      total -= dirBytes(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
      this.o.emit([
        {
          type: 'recording.evicted',
          success: false,
          session_id: s.meta.sessionId,
          user: s.meta.user,
          error: 'spool over its size limit',
        },
      ]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.scheduled) clearTimeout(this.scheduled);
    await this.running;
  }
}
