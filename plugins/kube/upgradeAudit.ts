// Audit and recording of upgraded kube requests: one `exec` event per exec or attach (pod, container, command, tty,
// exit code), one `port_forward` event per forwarded connection (pod, port), and an interactive exec (`-it`) recorded
// as a session from the stdout channel, with timing, through the agent's recording spool so `tp play` replays it.
import { RecordingWriter } from '../../core/audit/recording.ts';
import { describe } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPluginContext } from '../../core/plugin/types.ts';
import { header, type MessageHead } from './http1.ts';
import type { RequestRecord } from './relay.ts';
import { requestInfo } from './requestTarget.ts';
import { type StreamTap, streamTap, tapProtocol } from './streamTap.ts';

/** What the relay runs for an answered upgrade: the tap reading its copy, and the end of the stream. */
export interface UpgradeWatch {
  tap?: StreamTap;
  end(): Promise<void>;
}

/** Base fields: user, session_id, addr.remote, server_id, server_name, kube_cluster. */
type Fields = Record<string, unknown> & { user: string; session_id: string };

function execFields(r: RequestRecord) {
  const q = new URLSearchParams(r.query);
  const t = requestInfo(r.method, r.path, r.query).target;
  return {
    pod: t?.name,
    namespace: t?.namespace || undefined,
    container: q.get('container') ?? undefined,
    command: q.getAll('command').join(' ') || undefined,
    tty: q.get('tty') === 'true' || q.get('tty') === '1',
    kubernetes_user: r.as?.user,
    kubernetes_groups: r.as?.groups,
  };
}

/** The sub-resource an upgrade is for: exec, attach, portforward, or undefined (not audited beyond kube.request). */
export function upgradeKind(r: RequestRecord): 'exec' | 'portforward' | undefined {
  const sub = requestInfo(r.method, r.path, r.query).target?.subresource;
  if (sub === 'exec' || sub === 'attach') return 'exec';
  return sub === 'portforward' ? 'portforward' : undefined;
}

/** The event for an exec or port-forward that never switched protocols (tp's refusal, or the API server's answer). */
export function refusedUpgradeEvents(fields: Fields, r: RequestRecord) {
  const kind = upgradeKind(r);
  if (!kind) return [];
  const error = r.error ?? (r.status ? `the API server answered ${r.status}` : 'the connection ended before an answer');
  const f = execFields(r);
  if (kind === 'portforward')
    return [{ ...fields, type: 'port_forward' as const, success: false, error, pod: f.pod, namespace: f.namespace }];
  return [{ ...fields, type: 'exec' as const, success: false, error, status: r.status, ...f }];
}

/** Starts watching an upgrade the API server accepted (101); undefined for upgrades that are not exec/port-forward. */
export function watchUpgrade(
  ctx: AgentPluginContext,
  fields: Fields,
  r: RequestRecord,
  answer: MessageHead,
  upgrade: string,
): UpgradeWatch | undefined {
  const kind = upgradeKind(r);
  if (!kind) return undefined;
  const chosen = header(answer, 'sec-websocket-protocol') ?? header(answer, 'x-stream-protocol-version') ?? '';
  const protocol = tapProtocol(upgrade, chosen, kind === 'exec' ? 'exec' : 'portforward');
  const f = execFields(r);
  if (kind === 'portforward') {
    const tap =
      protocol &&
      streamTap(protocol, {
        forward: (p) =>
          ctx.emit([
            { ...fields, type: 'port_forward', success: true, pod: f.pod, namespace: f.namespace, port: p.port },
          ]),
      });
    return { tap: tap || undefined, end: async () => void (await (tap || undefined)?.end()) };
  }
  // Opened at the first resize or output; the first resize gives the metadata its terminal size.
  let writer: RecordingWriter | undefined;
  let opened = false;
  const open = (size?: { width: number; height: number }) => {
    if (opened || !f.tty) return;
    opened = true;
    writer = openRecording(ctx, fields, f.kubernetes_user ?? fields.user, f.command, size);
  };
  let outcome: { exitCode?: number; message?: string } = {};
  const tap =
    protocol &&
    streamTap(protocol, {
      output: (data, stream) => {
        open();
        writer?.write(data, stream);
      },
      resize: (size) => {
        open(size);
        writer?.setSize(size.width, size.height);
      },
      status: (s) => {
        outcome = s;
      },
    });
  return {
    tap: tap || undefined,
    end: async () => {
      await (tap || undefined)?.end();
      open();
      writer?.end();
      const success = outcome.exitCode === 0;
      ctx.emit([
        {
          ...fields,
          type: 'exec',
          success,
          ...f,
          exit_code: outcome.exitCode,
          ...(success ? {} : { error: outcome.message ?? 'the exec ended without an exit status' }),
          recorded: writer ? writer.failure === undefined : undefined,
        },
      ]);
    },
  };
}

/** A recording of the exec's terminal output in the spool, or undefined when the cluster does not record. */
function openRecording(
  ctx: AgentPluginContext,
  fields: Fields,
  login: string,
  command: string | undefined,
  size: { width: number; height: number } | undefined,
): RecordingWriter | undefined {
  if (ctx.recording.mode() !== 'node') return undefined;
  const onError = (err: Error) => {
    log.error('kube exec recording stopped: cannot write the spool', {
      session: fields.session_id,
      error: describe(err),
    });
    ctx.emit([
      { ...fields, type: 'recording.upload_failed', success: false, error: `recording stopped: ${describe(err)}` },
    ]);
  };
  try {
    return new RecordingWriter({
      dir: ctx.recording.dir,
      onPart: ctx.recording.onPart,
      onError,
      now: () => ctx.clock.now(),
      meta: {
        sessionId: fields.session_id,
        user: fields.user,
        login,
        serverId: ctx.hostId,
        serverName: String(fields.kube_cluster ?? ctx.nodeName),
        kind: 'exec',
        command,
        startedAt: new Date(ctx.clock.now()).toISOString(),
        status: 'recording',
        parts: 0,
        bytes: 0,
        width: size?.width,
        height: size?.height,
      },
    });
  } catch (err) {
    onError(err as Error);
    return undefined;
  }
}
