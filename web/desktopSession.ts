import RFB from '@novnc/novnc';

/** What the proxy says before the desktop's bytes: the session, and what the roles let it do. */
export interface DesktopReady {
  desktop: string;
  sessionId: string;
  clipboard: boolean;
  viewOnly: boolean;
}

/** What a desktop session tells the page. */
export interface DesktopEvents {
  /** The proxy let the session through: noVNC now drives the WebSocket. */
  ready(r: DesktopReady, rfb: RFB): void;
  /** noVNC completed the RFB handshake (its `connect` event): the screen is live. */
  connected(): void;
  /** The desktop's clipboard changed (only sent when the roles allow the clipboard). */
  clipboard(text: string): void;
  /** The session ended: the proxy's reason when it gave one. */
  ended(message: string, clean: boolean): void;
}

const readyOf = (f: Record<string, unknown>): DesktopReady | undefined =>
  f.type === 'ready' && typeof f.desktop === 'string' && typeof f.sessionId === 'string'
    ? { desktop: f.desktop, sessionId: f.sessionId, clipboard: f.clipboard === true, viewOnly: f.viewOnly !== false }
    : undefined;

/**
 * Opens desktop `name` through the proxy's WebSocket into `screen`: the proxy's first text frame says whether the
 * session may start (and its clipboard and view-only policy); then noVNC's RFB client takes the socket over. Text
 * frames later on are the proxy's reason for ending the session. Returns a function that disconnects.
 */
export function openDesktop(name: string, screen: HTMLElement, ev: DesktopEvents): () => void {
  const ws = new WebSocket(`wss://${location.host}/webapi/desktops/${encodeURIComponent(name)}/connect`);
  ws.binaryType = 'arraybuffer';
  let rfb: RFB | undefined;
  let reason = '';
  let done = false;
  const end = (message: string, clean: boolean) => {
    if (done) return;
    done = true;
    ev.ended(message, clean);
  };
  ws.addEventListener('message', (e: MessageEvent) => {
    if (typeof e.data !== 'string') return; // the desktop's bytes, noVNC's to read
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      reason = 'the proxy sent an unreadable message';
      ws.close();
      return;
    }
    if (frame.type === 'error') reason = String(frame.message ?? 'the desktop session was refused');
    const ready = rfb ? undefined : readyOf(frame);
    if (!ready) return;
    rfb = new RFB(screen, ws, { shared: true });
    rfb.viewOnly = ready.viewOnly;
    rfb.scaleViewport = true;
    rfb.background = 'transparent';
    rfb.addEventListener('connect', () => ev.connected());
    rfb.addEventListener('clipboard', (c) => {
      if (ready.clipboard) ev.clipboard(String((c as CustomEvent<{ text: string }>).detail.text));
    });
    rfb.addEventListener('securityfailure', (c) => {
      reason = `the desktop refused the session: ${String((c as CustomEvent<{ reason?: string }>).detail.reason ?? '')}`;
    });
    ev.ready(ready, rfb);
  });
  ws.addEventListener('close', (e: CloseEvent) =>
    end(reason || e.reason || (e.code === 1000 ? 'session ended' : `connection closed (${e.code})`), e.code === 1000 && !reason),
  );
  return () => {
    if (rfb) rfb.disconnect();
    else ws.close();
    end('you disconnected', true);
  };
}
