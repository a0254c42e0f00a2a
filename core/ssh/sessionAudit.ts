import type { AuditInput } from '../audit/events.ts';
import { RecordingWriter } from '../audit/recording.ts';
import type { Clock } from '../clock.ts';
import { describe } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { SessionTap } from './session.ts';

/** The node-wide parts a session's audit and recording need. */
export interface SessionAuditContext {
  emit(events: AuditInput[]): void;
  /** Session recording: spool directory, the cluster's mode, and who to tell when a part is on disk. */
  recording?: { dir: string; mode: () => 'node' | 'off'; onPart: () => void };
  hostId: string;
  nodeName: string;
  clock: Clock;
  /** Makes session IDs. */
  ids: IdSource;
}

/** One session channel: who opened it, over which connection (`base` audit fields), and what it runs. */
export interface SessionStart {
  user: string;
  login: string;
  base: Record<string, string>;
  kind: 'shell' | 'exec' | 'sftp';
  command: string | undefined;
  pty: { cols: number; rows: number } | undefined;
  /** The ID the proxy chose for this session (the web terminal's); a new one when absent. */
  sessionId?: string;
}

/**
 * Audits a session channel's start (and, for exec and SFTP, what it ran; for SFTP, each file it touched, as `sftp`
 * with `action` and `path`) and end, and records its output to the spool when the cluster records sessions at the
 * node (SFTP is never recorded). A spool that cannot be written stops the recording with a
 * `recording.upload_failed` event; the session itself carries on.
 */
export function startSessionAudit(ctx: SessionAuditContext, s: SessionStart): SessionTap {
  const { user, login, kind, command, pty } = s;
  const sessionId = s.sessionId ?? ctx.ids.uuid();
  const fields = { ...s.base, user, login, session_id: sessionId, kind, command };
  const extra = kind === 'shell' ? [] : [{ type: kind, ...fields } as const];
  ctx.emit([{ type: 'session.start', ...fields }, ...extra]);
  const rec = ctx.recording;
  const recordingFailed = (err: unknown) => {
    log.error('session recording stopped: cannot write the spool', { session: sessionId, error: describe(err) });
    ctx.emit([
      { type: 'recording.upload_failed', success: false, ...fields, error: `recording stopped: ${describe(err)}` },
    ]);
  };
  let writer: RecordingWriter | undefined;
  try {
    writer =
      rec && rec.mode() === 'node' && kind !== 'sftp'
        ? new RecordingWriter({
            dir: rec.dir,
            onPart: rec.onPart,
            onError: recordingFailed,
            meta: {
              sessionId,
              user,
              login,
              serverId: ctx.hostId,
              serverName: ctx.nodeName,
              kind,
              command,
              startedAt: new Date(ctx.clock.now()).toISOString(),
              status: 'recording',
              parts: 0,
              bytes: 0,
              width: pty?.cols,
              height: pty?.rows,
            },
          })
        : undefined;
  } catch (err) {
    recordingFailed(err);
  }
  return {
    output: (data, stream) => writer?.write(data, stream),
    sftp: (op) => ctx.emit([{ type: 'sftp', ...fields, ...op }]),
    end: (info) => {
      writer?.end();
      ctx.emit([{ type: 'session.end', ...fields, exit_code: info.exitCode, signal: info.signal }]);
    },
  };
}
