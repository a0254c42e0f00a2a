import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, Unauthenticated } from '../errors.ts';
import { sessionToken, type WebSession, type WebSessionStore } from './webSessions.ts';
import { sameSiteOrigin } from './webUi.ts';

/** Answers an HTTP upgrade that is not accepted with a status line and a reason, and closes the socket. */
export function refuseUpgrade(sock: Duplex, status: string, why: string): void {
  sock.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`);
}

/**
 * The live web session of a WebSocket upgrade, or undefined after refusing it: a request without an Origin or
 * from another site (403; a WebSocket carries no CSRF header, so the Origin is its CSRF check), without a live
 * session cookie (401), or when the session cannot be checked (503).
 */
export async function upgradeSession(
  req: IncomingMessage,
  sock: Duplex,
  sessions: WebSessionStore,
): Promise<WebSession | undefined> {
  try {
    // Browsers always send Origin on WebSockets; a missing one is not a browser we serve.
    if (!req.headers.origin) throw new Unauthenticated('missing Origin');
    sameSiteOrigin(req);
  } catch (err) {
    refuseUpgrade(sock, '403 Forbidden', (err as Error).message);
    return undefined;
  }
  try {
    const s = await sessions.find(sessionToken(req));
    if (!s) refuseUpgrade(sock, '401 Unauthorized', 'your web session has expired; log in again');
    return s;
  } catch (err) {
    refuseUpgrade(sock, '503 Service Unavailable', `cannot check the web session: ${describe(err)}`);
    return undefined;
  }
}
