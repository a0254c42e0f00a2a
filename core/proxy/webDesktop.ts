import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { describe, NotFound, TpError, Unavailable } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { AccessRequest } from './accessGate.ts';
import { dialAgent, readAgentAck } from './dial.ts';
import { RdpMessages } from './rdpMessages.ts';
import { desktopAccess, desktopInfo, RDP_PLUGIN } from './webDesktopInfo.ts';
import type { WebNodeDeps } from './webNodeClient.ts';
import type { WebSession, WebSessionStore } from './webSessions.ts';
import { relayWebSocket } from './webSocketRelay.ts';
import { refuseUpgrade, upgradeSession } from './webSocketSession.ts';

/**
 * The desktop WebSocket: `/webapi/desktops/<name>/connect[?login=L][&rdp=1]`. VNC: a `ready` text frame, then binary
 * frames of plain RFB. RDP: binary frames only, one per RDCleanPath or RDP message, exactly the bytes IronRDP sends
 * and reads; a refusal is a close code and reason (`rdp=1` says so before the desktop is known), and the page asks
 * `GET /webapi/desktops/<name>` for the rights and reasons.
 */
export const DESKTOP_PATH = /^\/webapi\/desktops\/([a-z0-9][a-z0-9_.-]{0,62})\/connect$/;

/** The one text frame before the desktop's bytes: the session, and what the roles let it do (the agent enforces). */
export interface DesktopReady {
  type: 'ready';
  desktop: string;
  sessionId: string;
  clipboard: boolean;
  viewOnly: boolean;
}

interface OpenDesktop {
  ws: WebSocket;
  access: AccessRequest;
  timer: ReturnType<typeof setTimeout>;
  /** The page's client owns every frame (IronRDP): reasons go in the close frame only, never in a text frame. */
  rawSocket: boolean;
}

/** Ends a desktop socket with a reason: a text frame first unless the client owns the socket, then the close. */
function endDesktop(d: OpenDesktop, code: number, message: string): void {
  if (d.ws.readyState !== d.ws.OPEN) return;
  d.ws.resume(); // read the browser's close answer, or the closing handshake waits out its timer
  if (!d.rawSocket) d.ws.send(JSON.stringify({ type: 'error', message }));
  // A close reason holds at most 123 bytes.
  d.ws.close(
    code,
    Buffer.from(message)
      .subarray(0, 123)
      .toString()
      .replace(/\uFFFD$/, ''),
  );
}

/**
 * Desktops in the browser: a WebSocket from the page (cookie session, same origin only) becomes a stream to the
 * agent serving the desktop, opened with the session user's certificate (the agent verifies it, filters RFB,
 * records and audits). The proxy asks the gate first, and asks it again whenever locks or roles change: a
 * session the gate now refuses ends at once, as it does when the web session expires.
 */
export class WebDesktops {
  // The largest browser message is ClientCutText: the agent's 1 MiB of text plus its header.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: (1 << 20) + 64 * 1024 });
  private readonly open = new Set<OpenDesktop>();

  constructor(
    private readonly deps: WebNodeDeps,
    private readonly sessions: WebSessionStore,
    private readonly ids: IdSource = cryptoIds,
    private readonly now: () => number = Date.now,
  ) {
    deps.view.replica.onChange((kinds) => {
      if (kinds.has('lock') || kinds.has('role')) void this.recheck();
    });
  }

  /** True for an upgrade request this endpoint serves. */
  handles(req: IncomingMessage): boolean {
    return new URL(req.url ?? '/', 'https://tp').pathname.startsWith('/webapi/desktops/');
  }

  /** Handles an HTTP upgrade; refuses (with a status line) anything but a same-origin request of a live session. */
  upgrade(req: IncomingMessage, sock: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://tp');
    const name = DESKTOP_PATH.exec(url.pathname)?.[1];
    if (!name) {
      refuseUpgrade(sock, '404 Not Found', 'no such desktop endpoint: use /webapi/desktops/<name>/connect');
      return;
    }
    void upgradeSession(req, sock, this.sessions).then((s) => {
      if (!s) return;
      const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      const access = desktopAccess(s, name, remote, url.searchParams.get('login') ?? undefined);
      this.wss.handleUpgrade(req, sock, head, (ws) => void this.serve(ws, s, access, url.searchParams.has('rdp')));
    });
  }

  /**
   * Opens the desktop for one accepted WebSocket, or tells the page why not (close 4000 with the reason, after a
   * text frame with it for VNC). RDP pages (`?rdp` in the URL, as IronRDP's address) never get a text frame.
   */
  private async serve(ws: WebSocket, s: WebSession, access: AccessRequest, rdpPage: boolean): Promise<void> {
    // IronRDP sends first (its RDCleanPath request): hold the browser's frames until the relay reads them.
    ws.pause();
    // The session ends with the web login's certificates; a later lock or role change is checked in `recheck`.
    const expired = () => endDesktop(entry, 4001, 'your web session has expired; log in again');
    const entry: OpenDesktop = { ws, access, timer: setTimeout(expired, s.expires - this.now()), rawSocket: rdpPage };
    this.open.add(entry);
    ws.on('close', () => {
      clearTimeout(entry.timer);
      this.open.delete(entry);
    });
    let upstream: Duplex | undefined;
    try {
      const { desktop, info } = await desktopInfo(this.deps, s, access);
      const rdp = desktop.plugin === RDP_PLUGIN;
      entry.rawSocket ||= rdp;
      const sessionId = this.ids.uuid();
      const agent = (await this.deps.view.nodes()).find((n) => n.hostId === desktop.hostId);
      const what = `desktop "${desktop.name}"`;
      upstream = await dialAgent(
        { hostId: desktop.hostId, name: desktop.name, kind: 'desktop', addr: agent?.addr },
        this.deps.tunnels,
        this.deps.dialTls,
        {
          service: desktop.plugin,
          resource: desktop.name,
          route: access.principal ? { login: access.principal } : {},
          cert: s.tlsCertDer,
          client: access.remote,
          sessionId,
          user: s.user,
        },
      );
      await readAgentAck(upstream, what);
      if (ws.readyState !== ws.OPEN) {
        upstream.destroy(); // the page left while the session was being set up
        return;
      }
      if (!rdp) {
        const { clipboard, viewOnly } = info;
        const ready: DesktopReady = { type: 'ready', desktop: desktop.name, sessionId, clipboard, viewOnly };
        ws.send(JSON.stringify(ready));
      }
      relayWebSocket(ws, upstream, what, rdp ? new RdpMessages() : undefined);
    } catch (err) {
      upstream?.destroy();
      if (!(err instanceof TpError)) log.warn('web desktop failed', { error: describe(err) });
      this.deps.gate.refused(access, err);
      endDesktop(entry, 4000, err instanceof TpError ? err.message : `cannot open the desktop: ${describe(err)}`);
    }
  }

  /** Asks the gate again for every open desktop; ends those it now refuses (a lock, a role that no longer allows). */
  private async recheck(): Promise<void> {
    for (const d of [...this.open]) {
      try {
        await this.deps.gate.authorize(d.access);
      } catch (err) {
        // An agent briefly out of reach is not a reason to end a session that still flows.
        if (err instanceof Unavailable || err instanceof NotFound) continue;
        endDesktop(d, 4003, err instanceof TpError ? err.message : describe(err));
      }
    }
  }

  /** Number of open desktop sessions. */
  get size(): number {
    return this.open.size;
  }

  /** Closes every desktop session. */
  close(): void {
    for (const d of this.open) {
      clearTimeout(d.timer);
      d.ws.terminate();
    }
    this.wss.close();
  }
}
