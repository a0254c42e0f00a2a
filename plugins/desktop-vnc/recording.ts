// A desktop session's recording: the bytes the browser received from the agent (its RFB handshake, the ServerInit,
// every server message as forwarded), timestamped, spooled and uploaded like SSH recordings. Input is never recorded.
import { RecordingWriter } from '../../core/audit/recording.ts';
import { describe } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPluginContext } from '../../core/plugin/types.ts';

/**
 * Desktop parts are cut larger than a terminal's (screen updates are bulky), yet stay under the upload's cap of
 * 700 000 base64 characters per part (core/auth/schemas.ts) with one more event on top.
 */
const PART_BYTES = 400 * 1024;
/** Bytes per recorded event at most (64 KiB of base64 JSON): a bigger write is several events at the same time. */
const EVENT_BYTES = 48 * 1024;

/** What a session records into. */
export interface DesktopRecorder {
  write(chunk: Uint8Array): void;
  end(status: 'complete' | 'interrupted'): void;
}

/** Who and what a recording is of. */
export interface RecordingSubject {
  sessionId: string;
  user: string;
  login: string;
  desktop: string;
  width: number;
  height: number;
}

/**
 * Starts the recording of one session when the cluster records at the node (undefined otherwise). A spool that
 * cannot be written stops the recording, audited as `recording.upload_failed`; the session carries on.
 */
export function startDesktopRecording(
  ctx: AgentPluginContext,
  s: RecordingSubject,
  fields: Record<string, unknown>,
): DesktopRecorder | undefined {
  if (ctx.recording.mode() !== 'node') return undefined;
  const failed = (err: unknown) => {
    log.error('desktop recording stopped: cannot write the spool', { session: s.sessionId, error: describe(err) });
    ctx.emit([
      { type: 'recording.upload_failed', success: false, ...fields, error: `recording stopped: ${describe(err)}` },
    ]);
  };
  try {
    const writer = new RecordingWriter({
      dir: ctx.recording.dir,
      onPart: ctx.recording.onPart,
      onError: failed,
      partBytes: PART_BYTES,
      now: () => ctx.clock.now(),
      meta: {
        sessionId: s.sessionId,
        user: s.user,
        login: s.login,
        serverId: ctx.hostId,
        serverName: s.desktop,
        kind: 'desktop',
        startedAt: new Date(ctx.clock.now()).toISOString(),
        status: 'recording',
        parts: 0,
        bytes: 0,
        width: s.width,
        height: s.height,
      },
    });
    const write = (chunk: Uint8Array) => {
      for (let at = 0; at < chunk.length; at += EVENT_BYTES) writer.writeBytes(chunk.subarray(at, at + EVENT_BYTES));
    };
    return { write, end: (status) => writer.end(status) };
  } catch (err) {
    failed(err);
    return undefined;
  }
}
