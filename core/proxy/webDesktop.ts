import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { describe, NotFound, TpError, Unavailable } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { ResourceRecord } from '../plugin/types.ts';
import { desktopSessionRights } from '../rbac/index.ts';
import type { AccessRequest } from './accessGate.ts';
import { dialAgent, readAgentAck } from './dial.ts';
import type { WebNodeDeps } from './webNodeClient.ts';
import type { WebSession, WebSessionStore } from './webSessions.ts';
import { relayWebSocket } from './webSocketRelay.ts';
import { refuseUpgrade, upgradeSession } from './webSocketSession.ts';

/** The desktop WebSocket: `/webapi/desktops/<name>/connect`, binary frames of plain RFB once `ready` came. */
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
    const name = DESKTOP_PATH.exec(new URL(req.url ?? '/', 'https://tp').pathname)?.[1];
    if (!name) {
      refuseUpgrade(sock, '404 Not Found', 'no such desktop endpoint: use /webapi/desktops/<name>/connect');
      return;
    }
    void upgradeSession(req, sock, this.sessions).then((s) => {
      if (!s) return;
      const access: AccessRequest = {
        kind: 'desktop',
        via: 'web',
        who: s.who,
        target: name,
        remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      };
      this.wss.handleUpgrade(req, sock, head, (ws) => void this.serve(ws, s, access));
    });
  }

  /** Opens the desktop for one accepted WebSocket, or tells the page why not (a text frame, then close 4000). */
  private async serve(ws: WebSocket, s: WebSession, access: AccessRequest): Promise<void> {
    // The session ends with the web login's certificates; a later lock or role change is checked in `recheck`.
    const timer = setTimeout(() => end(4001, 'your web session has expired; log in again'), s.expires - this.now());
    const entry: OpenDesktop = { ws, access, timer };
    const end = (code: number, message: string) => {
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'error', message }));
        ws.close(code, message.slice(0, 120));
      }
    };
    this.open.add(entry);
    ws.on('close', () => {
      clearTimeout(timer);
      this.open.delete(entry);
    });
    let upstream: Duplex | undefined;
    try {
      const desktop = await this.deps.gate.authorize<ResourceRecord>(access);
      const rights = desktopSessionRights(await this.deps.view.rolesNamed(s.who.roles));
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
          route: {},
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
      const ready: DesktopReady = { type: 'ready', desktop: desktop.name, sessionId, ...rights };
      ws.send(JSON.stringify(ready));
      relayWebSocket(ws, upstream, what);
    } catch (err) {
      upstream?.destroy();
      if (!(err instanceof TpError)) log.warn('web desktop failed', { error: describe(err) });
      this.deps.gate.refused(access, err);
      end(4000, err instanceof TpError ? err.message : `cannot open the desktop: ${describe(err)}`);
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
        const message = err instanceof TpError ? err.message : describe(err);
        if (d.ws.readyState === d.ws.OPEN) {
          d.ws.send(JSON.stringify({ type: 'error', message }));
          d.ws.close(4003, message.slice(0, 120));
        }
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
