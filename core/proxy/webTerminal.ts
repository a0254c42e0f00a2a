import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { type WebSocket, WebSocketServer } from 'ws';
import { describe, TpError } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import { nodeClientError } from '../ssh/nodeClient.ts';
import type { AccessRequest } from './accessGate.ts';
import { connectAsWebUser, type WebNodeDeps } from './webNodeClient.ts';
import type { WebSession, WebSessionStore } from './webSessions.ts';
import { refuseUpgrade, upgradeSession } from './webSocketSession.ts';

/** Path of the web terminal's WebSocket. */
export const TERMINAL_PATH = '/webapi/ui/terminal';
/** Output buffered towards a slow browser before the SSH channel is paused. */
const HIGH_WATER = 1 << 20;

/** What the browser sends as text frames; keystrokes travel as binary frames. */
type Control = { type: 'resize'; cols: number; rows: number };

const clamp = (n: unknown, lo: number, hi: number, dflt: number) =>
  Number.isInteger(n) ? Math.min(Math.max(n as number, lo), hi) : dflt;

/**
 * The web terminal: a WebSocket from the browser (cookie session, same origin only) becomes an SSH session that
 * the proxy opens to the node as the session's user, with that user's certificate. The node checks the cert,
 * records and audits the session like any other; the proxy only checks locks and roles first, as the relay does.
 */
export class WebTerminals {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  private readonly open = new Set<WebSocket>();

  constructor(
    private readonly deps: WebNodeDeps,
    private readonly sessions: WebSessionStore,
    private readonly ids: IdSource = cryptoIds,
  ) {}

  /** Handles an HTTP upgrade; refuses (with a status line) anything but a same-origin request of a live session. */
  upgrade(req: IncomingMessage, sock: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://tp');
    if (url.pathname !== TERMINAL_PATH) {
      refuseUpgrade(sock, '404 Not Found', 'no such WebSocket endpoint');
      return;
    }
    void upgradeSession(req, sock, this.sessions).then((s) => {
      if (s) this.accept(req, sock, head, url, s);
    });
  }

  /** Completes the upgrade for a live session and starts the SSH side. */
  private accept(req: IncomingMessage, sock: Duplex, head: Buffer, url: URL, s: WebSession): void {
    const node = url.searchParams.get('node') ?? '';
    const login = url.searchParams.get('login') ?? '';
    const cols = clamp(Number(url.searchParams.get('cols')), 10, 1000, 80);
    const rows = clamp(Number(url.searchParams.get('rows')), 5, 500, 24);
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    this.wss.handleUpgrade(req, sock, head, (ws) => {
      this.open.add(ws);
      ws.on('close', () => this.open.delete(ws));
      void this.serve(ws, s, node, login, cols, rows, remote);
    });
  }

  private async serve(
    ws: WebSocket,
    s: WebSession,
    nodeRef: string,
    login: string,
    cols: number,
    rows: number,
    remote: string,
  ): Promise<void> {
    const fail = (err: unknown) => {
      const message = err instanceof TpError ? err.message : `cannot open the session: ${describe(err)}`;
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'error', message }));
        ws.close(4000, message.slice(0, 120));
      }
    };
    const access: AccessRequest & { principal: string } = {
      kind: 'node',
      via: 'web',
      who: s.who,
      target: nodeRef,
      principal: login,
      remote,
    };
    try {
      // The node gives the session this ID, so the page can show it for support.
      const sessionId = this.ids.uuid();
      const { node, client } = await connectAsWebUser(this.deps, s, access, sessionId);
      if (ws.readyState !== ws.OPEN) {
        client.end(); // the browser left while the session was being set up
        return;
      }
      ws.on('close', () => client.end());
      client.on('error', (err: Error & { level?: string }) =>
        fail(nodeClientError(err, [], { login, name: node.name })),
      );
      client.on('close', () => ws.close(1000, 'session ended'));
      client.shell({ term: 'xterm-256color', cols, rows }, (err, stream) => {
        if (err) return fail(err);
        ws.send(JSON.stringify({ type: 'ready', node: node.name, login, sessionId }));
        this.pipe(ws, stream);
      });
    } catch (err) {
      if (!(err instanceof TpError)) log.warn('web terminal failed', { error: describe(err) });
      this.deps.gate.refused(access, err);
      fail(err);
    }
  }

  /** Moves bytes both ways, pausing the SSH channel while the browser is behind. */
  private pipe(ws: WebSocket, stream: ClientChannel): void {
    const out = (data: Buffer) => {
      ws.send(data, { binary: true });
      if (ws.bufferedAmount > HIGH_WATER) {
        stream.pause();
        const resume = setInterval(() => {
          if (ws.bufferedAmount < HIGH_WATER / 4 || ws.readyState !== ws.OPEN) {
            clearInterval(resume);
            stream.resume();
          }
        }, 20);
      }
    };
    stream.on('data', out);
    stream.stderr.on('data', out);
    stream.on('close', () => ws.close(1000, 'session ended'));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        stream.write(data as Buffer);
        return;
      }
      let msg: Control;
      try {
        msg = JSON.parse(String(data)) as Control;
      } catch (err) {
        log.debug('web terminal: unreadable control frame', { error: describe(err) });
        return;
      }
      if (msg.type === 'resize') stream.setWindow(clamp(msg.rows, 5, 500, 24), clamp(msg.cols, 10, 1000, 80), 0, 0);
    });
  }

  /** Number of open terminals. */
  get size(): number {
    return this.open.size;
  }

  /** Closes every terminal. */
  close(): void {
    for (const ws of this.open) ws.terminate();
    this.wss.close();
  }
}
