// One desktop session: the roles' check and the agent's handshake with the VNC server, the browser's handshake, then
// both directions walked and filtered until either side ends or the session's signal aborts; audited and recorded.
import type { Duplex } from 'node:stream';
import { ByteReader, writeDrained } from '../../core/desktop/byteReader.ts';
import { checkDesktopAccess, desktopSessionFields, sessionStarted, stopReason } from '../../core/desktop/session.ts';
import { describe } from '../../core/errors.ts';
import type { AgentPluginContext, PluginSession } from '../../core/plugin/types.ts';
import { type DesktopSessionRights, desktopSessionRights } from '../../core/rbac/index.ts';
import { relayClientMessages } from './clientMessages.ts';
import type { VncDesktop } from './index.ts';
import { presentToBrowser } from './present.ts';
import { type DesktopRecorder, startDesktopRecording } from './recording.ts';
import { relayServerMessages } from './serverMessages.ts';
import { openUpstream, type Upstream } from './upstream.ts';

/** One configured desktop as the agent serves it: its entry and its password (read at start-up). */
export interface DesktopTarget {
  desktop: VncDesktop;
  password: Buffer | undefined;
}

/** A session past both handshakes. */
interface Opened {
  upstream: Upstream;
  rights: DesktopSessionRights;
}

/**
 * Checks the user's roles on the desktop (labels; the login too when the client named one: VNC has no account,
 * so none is required), then opens the VNC server; rejects with the refusal's error.
 */
async function admit(ctx: AgentPluginContext, t: DesktopTarget, s: PluginSession): Promise<Opened> {
  const roles = checkDesktopAccess(ctx, s, t.desktop);
  const upstream = await openUpstream(
    { desktop: t.desktop.name, addr: t.desktop.addr, password: t.password },
    s.signal,
  );
  return { upstream, rights: desktopSessionRights(roles) };
}

/**
 * Serves one browser stream on desktop `t` until it ends. A refusal (roles, an unreachable server, a wrong VNC
 * password on the agent) reaches the browser as RFB's failure reason and is audited as a failed
 * `desktop.session.start`; a session that started ends with `desktop.session.end` and its reason.
 */
export async function runDesktopSession(
  ctx: AgentPluginContext,
  t: DesktopTarget,
  stream: Duplex,
  s: PluginSession,
): Promise<void> {
  const fields = desktopSessionFields(ctx, s, t.desktop, 'vnc', s.route.login ?? '');
  const browser = new ByteReader(stream, 'the browser', s.signal);
  // What the browser receives is recorded from its first byte: held until the recording can start.
  let recorder: DesktopRecorder | undefined;
  const presented: Buffer[] = [];
  const toBrowser = (chunk: Buffer) => {
    if (recorder) recorder.write(chunk);
    else presented.push(chunk);
    return writeDrained(stream, chunk);
  };
  const ready = admit(ctx, t, s);
  let opened: Opened;
  try {
    const init = await presentToBrowser(
      toBrowser,
      browser,
      ready.then((o) => o.upstream.init),
    );
    opened = await ready;
    const subject = { sessionId: s.id, user: fields.user!, login: fields.login!, desktop: t.desktop.name, ...init };
    recorder = startDesktopRecording(ctx, subject, fields);
    recorder?.write(Buffer.concat(presented));
  } catch (err) {
    ready.then((o) => o.upstream.socket.destroy()).catch(() => undefined);
    ctx.emit([{ type: 'desktop.session.start', success: false, ...fields, error: describe(err) }]);
    stream.end();
    return;
  }
  const { upstream, rights } = opened;
  ctx.emit([sessionStarted(fields, rights)]);
  const clipboard =
    (type: 'desktop.clipboard.send' | 'desktop.clipboard.receive') => (length: number, dropped?: string) =>
      ctx.emit([
        dropped
          ? { type, success: false, ...fields, length, error: dropped }
          : { type, success: true, ...fields, length },
      ]);
  let pixelFormat = upstream.init.pixelFormat;
  const ended = await Promise.race([
    relayClientMessages(browser, (m) => writeDrained(upstream.socket, m), {
      ...rights,
      onPixelFormat: (pf) => {
        pixelFormat = pf;
      },
      onCutText: clipboard('desktop.clipboard.send'),
    }).catch((err: unknown) => stopReason(err, s.signal)),
    relayServerMessages(upstream.reader, toBrowser, {
      clipboard: rights.clipboard,
      pixelFormat: () => pixelFormat,
      onCutText: clipboard('desktop.clipboard.receive'),
    }).catch((err: unknown) => stopReason(err, s.signal)),
  ]);
  upstream.socket.destroy();
  stream.destroy();
  recorder?.end('complete');
  ctx.emit([{ type: 'desktop.session.end', ...fields, reason: ended }]);
}
