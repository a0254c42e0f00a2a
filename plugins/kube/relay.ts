// One kubectl connection through the agent: each HTTP/1.1 request is read, judged and rewritten (the client's own
// Authorization and Impersonate-* dropped, the agent's credentials and the roles' impersonation added) before it goes
// to the API server; responses stream back unparsed (watches, logs -f), and an upgrade that the server accepts (101:
// exec, attach, port-forward over WebSocket or SPDY) carries on byte for byte both ways.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { AccessDenied, BadParameter, describe } from '../../core/errors.ts';
import { ByteReader, copyBody, formatHead, header, isUpgrade, type MessageHead } from './http1.ts';
import { errorResponse, statusResponse } from './status.ts';
import type { UpgradeWatch } from './upgradeAudit.ts';

/** What the relay asks of its owner for each request. */
export interface RelayHooks {
  /**
   * The identity to run the request as (throws AccessDenied to refuse it, the roles' impersonation or resource rules).
   * `asked` is the client's own --as; `request` its method, checked path and query.
   */
  impersonate(
    asked: { user?: string; groups: string[] },
    request: { method: string; path: string; query: string },
  ): { user: string; groups: string[] };
  /** Headers authenticating the agent itself (a bearer token). */
  agentHeaders: [string, string][];
  /** One request answered or refused (for audit): called once the status line is seen, or the connection ended. */
  onRequest(r: RequestRecord): void;
  /** An upgrade the server accepted (101): what reads a copy of its bytes, and what runs when it ends. */
  onUpgrade?(r: RequestRecord, answer: MessageHead, upgrade: string): UpgradeWatch | undefined;
  signal: AbortSignal;
}

/** One request as the relay saw it. */
export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  upgrade: boolean;
  /** The API server's response status (tp's own for a refusal); absent when no response came. */
  status?: number;
  as?: { user: string; groups: string[] };
  error?: string;
}

const DROPPED = /^(authorization|impersonate-.*|proxy-authorization|connection|keep-alive|te)$/i;
const MAX_HEAD = 64 * 1024;
/** After an abort, the farewell is offered this many times this far apart (the client may still open streams). */
const FAREWELL_ROUNDS = 12;
const FAREWELL_MS = 40;

/** Refuses a path with dot segments or encoded slashes: rules match the path as written, so it must mean itself. */
export function checkPath(target: string): string {
  const path = target.split('?')[0]!;
  if (!path.startsWith('/')) throw new BadParameter('the request target is not an absolute path');
  if (/%2f|%5c|\\/i.test(path)) throw new AccessDenied('encoded slashes are not allowed in request paths');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new BadParameter('the request path is not valid percent-encoding');
  }
  if (decoded.split('/').some((seg) => seg === '..' || seg === '.'))
    throw new AccessDenied('dot segments ("." or "..") are not allowed in request paths');
  return path;
}

/** Writes a refusal kubectl prints as `Error from server (Forbidden): <message>` (status.ts: why text, not JSON). */
function refuse(client: Duplex, code: number, message: string): void {
  client.write(errorResponse(code, message, false));
}

/**
 * Refuses an upgrade (exec, port-forward) with a JSON `metav1.Status`: client-go decodes an upgrade's error body as a
 * Status, and a text body like `tp: ...` reads as YAML, printing an empty message.
 */
function refuseUpgrade(client: Duplex, code: number, message: string): void {
  client.write(statusResponse(code, message, false));
}

function rewrite(h: MessageHead, as: { user: string; groups: string[] }, agent: [string, string][]): MessageHead {
  const keep = h.headers.filter(([k]) => !DROPPED.test(k));
  const conn = isUpgrade(h) ? [['Connection', 'Upgrade'] as [string, string]] : [];
  return {
    ...h,
    headers: [
      ...keep,
      ...conn,
      ...agent,
      ['Impersonate-User', as.user],
      ...as.groups.map((g) => ['Impersonate-Group', g] as [string, string]),
    ],
  };
}

function statusOf(text: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

const sink = { write: () => true } as unknown as Duplex;

/** Relays one client connection to `upstream` until either side ends; resolves then. */
export async function relay(client: Duplex, upstream: TLSSocket, hooks: RelayHooks): Promise<void> {
  const fromClient = new ByteReader(client);
  client.resume();
  // The request whose response has not begun: Go's client sends the next request only after reading the last
  // response whole, so the first bytes from the server after a request are its status line.
  let awaiting: RequestRecord | undefined;
  let sniffed = Buffer.alloc(0);
  const answered = (status: number | undefined) => {
    const rec = awaiting;
    awaiting = undefined;
    sniffed = Buffer.alloc(0);
    if (rec) hooks.onRequest({ ...rec, status });
  };
  const raw = (d: Buffer) => {
    if (awaiting) {
      sniffed = Buffer.concat([sniffed, d.subarray(0, 16)]);
      if (sniffed.length >= 12) answered(statusOf(sniffed.toString('latin1')));
    }
    client.write(d);
  };
  upstream.on('data', raw);
  const ended = new Promise<void>((resolve) => {
    upstream.once('close', resolve);
    client.once('close', resolve);
  }).then(() => answered(undefined));
  const loop = async () => {
    for (let n = 0; n < 100_000; n++) {
      const h = await fromClient.head(MAX_HEAD, hooks.signal);
      if (!h) return;
      const [path = '', query = ''] = h.second.split('?', 2);
      const rec: RequestRecord = { method: h.first, path, query, upgrade: isUpgrade(h) };
      let as: { user: string; groups: string[] };
      try {
        rec.path = checkPath(h.second);
        const asked = {
          user: header(h, 'impersonate-user'),
          groups: h.headers.filter(([k]) => k.toLowerCase() === 'impersonate-group').map(([, v]) => v),
        };
        as = hooks.impersonate(asked, { method: h.first, path: rec.path, query });
        rec.as = as;
      } catch (err) {
        rec.error = describe(err);
        const denied = err instanceof AccessDenied;
        hooks.onRequest({ ...rec, status: denied ? 403 : 400 });
        await copyBody(h, fromClient, sink, hooks.signal);
        // Refused upgrades too: the client reads the answer and closes (ending here could cut it short).
        (rec.upgrade ? refuseUpgrade : refuse)(client, denied ? 403 : 400, `tp: ${rec.error}`);
        continue;
      }
      if (!rec.upgrade) {
        awaiting = rec;
        upstream.write(formatHead(rewrite(h, as, hooks.agentHeaders)));
        await copyBody(h, fromClient, upstream, hooks.signal);
        continue;
      }
      // An upgrade: read the server's answer head before letting more client bytes through unparsed.
      upstream.off('data', raw);
      const fromServer = new ByteReader(upstream);
      upstream.write(formatHead(rewrite(h, as, hooks.agentHeaders)));
      await copyBody(h, fromClient, upstream, hooks.signal);
      const answer = await fromServer.head(MAX_HEAD, hooks.signal);
      const answered = { ...rec, status: answer ? Number(answer.second) : undefined };
      hooks.onRequest(answered);
      if (!answer) return;
      client.write(formatHead(answer));
      if (answer.second === '101') {
        // Bytes pass unchanged; the watch reads a copy of each piece after it was written on.
        const watch = hooks.onUpgrade?.(answered, answer, header(h, 'upgrade') ?? '');
        const tap = watch?.tap;
        const first = fromServer.detach();
        client.write(first);
        tap?.fromServer(first);
        upstream.on('data', (d: Buffer) => {
          client.write(d);
          tap?.fromServer(d);
        });
        const rest = fromClient.detach();
        if (rest.length) upstream.write(rest);
        tap?.fromClient(rest);
        client.on('data', (d: Buffer) => {
          if (!upstream.destroyed) upstream.write(d);
          tap?.fromClient(d);
        });
        client.once('end', () => upstream.end());
        // A lock, expiry or stop: say why where the protocol has a place for it (for a bounded while, answering the
        // streams the client still opens), then end the client side.
        const bye = async () => {
          const message = `tp: the session ended: ${describe(hooks.signal.reason)}`;
          for (let i = 0; i < FAREWELL_ROUNDS && tap?.farewell && !client.destroyed; i++) {
            const words = tap.farewell(message);
            if (words === undefined) break;
            if (words.length) client.write(words);
            await new Promise((r) => setTimeout(r, FAREWELL_MS));
          }
          client.end();
        };
        if (hooks.signal.aborted) void bye();
        else hooks.signal.addEventListener('abort', () => void bye(), { once: true });
        watching = ended.then(() => watch?.end());
        await ended;
        return;
      }
      await copyBody(answer, fromServer, client, hooks.signal);
      client.write(fromServer.detach());
      upstream.on('data', raw);
    }
  };
  let watching: Promise<void> | undefined;
  await Promise.race([loop(), ended]).finally(() => {
    upstream.destroy();
  });
  await watching;
  if (!client.destroyed) client.end();
}
