// The agent side of app-http: heartbeats each app, and serves one proxied connection as a sequence of HTTP/1.1
// exchanges with the app (keep-alive, streaming bodies both ways, upgrades passed through), each request carrying
// the user's signed identity token.
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { describe } from '../../core/errors.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession } from '../../core/plugin/types.ts';
import {
  connectionHas,
  type Framing,
  formatHead,
  framingOf,
  type Head,
  pipeRest,
  readHead,
  relayMessage,
} from './http1.ts';
import type { AppEntry } from './index.ts';
import { StreamReader, write } from './reader.ts';
import { rewriteLocation, rewriteRequest } from './rewrite.ts';
import { SessionToken } from './tokens.ts';

/** Opens a connection to the app (TLS for https, verified unless the entry says insecure_skip_verify). */
function dialApp(app: AppEntry, uri: URL): Promise<Duplex> {
  const port = Number(uri.port || (uri.protocol === 'https:' ? 443 : 80));
  const host = uri.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const s =
      uri.protocol === 'https:'
        ? tlsConnect({ host, port, servername: host, rejectUnauthorized: !app.insecure_skip_verify }, () => resolve(s))
        : tcpConnect({ host, port }, () => resolve(s));
    s.setNoDelay?.(true);
    s.once('error', reject);
  });
}

/** A plain answer tp writes itself (the app was not reached or refused the session). */
function plainAnswer(status: number, reason: string, text: string): string {
  const body = `${text}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const NO_BODY_STATUS = (s: number) => (s >= 100 && s < 200) || s === 204 || s === 304;

/**
 * Ends `s` and resolves once the proxy has closed its side too (at most 10 s): the host destroys the stream when
 * serve returns, and a tunnel stream destroyed before the peer is done resets it, dropping bytes it has not read.
 */
function flushed(s: Duplex): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    timer.unref?.();
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.end();
  });
}

/** Starts the agent side for the configured apps. */
export function startAppAgent(ctx: AgentPluginContext, entries: AppEntry[]): AgentPlugin {
  const apps = new Map(entries.map((e) => [e.name, e]));
  return {
    resources: () =>
      entries.map((e) => ({
        name: e.name,
        labels: e.labels,
        spec: { uri: e.uri, ...(e.public_addr ? { public_addr: e.public_addr } : {}) },
      })),
    serve: (stream, session) => serveApp(ctx, apps.get(session.resource), stream, session),
    close: () => Promise.resolve(),
  };
}

async function serveApp(ctx: AgentPluginContext, app: AppEntry | undefined, client: Duplex, s: PluginSession) {
  // Before the first await: the host hands the stream over flowing, and no byte may go by unread.
  const fromClient = new StreamReader(client);
  const base = {
    user: s.user?.name ?? '',
    session_id: s.id,
    'addr.remote': s.client,
    server_id: ctx.hostId,
    app_name: s.resource,
  };
  if (!app || !s.user) {
    await write(client, plainAnswer(404, 'Not Found', `tp: no app "${s.resource}" here`)).catch(() => undefined);
    return;
  }
  const uri = new URL(app.uri);
  const publicAddr = app.public_addr ?? s.route.public_addr;
  const token = new SessionToken(ctx, app.name, s.user.certDer);
  try {
    await token.get();
  } catch (err) {
    ctx.emit([{ type: 'app.session.start', success: false, ...base, error: describe(err) }]);
    await write(
      client,
      plainAnswer(403, 'Forbidden', `tp: access to app "${app.name}" denied: ${describe(err)}`),
    ).catch(() => undefined);
    return;
  }
  ctx.emit([{ type: 'app.session.start', success: true, ...base, app_uri: app.uri, app_public_addr: publicAddr }]);
  let upstream: Duplex | undefined;
  const stop = () => {
    client.destroy();
    upstream?.destroy();
  };
  s.signal.addEventListener('abort', stop, { once: true });
  let requests = 0;
  try {
    upstream = await dialApp(app, uri);
    upstream.on('error', () => undefined);
    const fromApp = new StreamReader(upstream);
    for (;;) {
      let req: Head | null;
      let reqFraming: Framing;
      try {
        req = await readHead(fromClient);
        if (!req) break;
        reqFraming = framingOf(req, true);
      } catch (err) {
        // A malformed or ambiguous request never reaches the app (request smuggling).
        await write(client, plainAnswer(400, 'Bad Request', `tp: bad request: ${describe(err)}`)).catch(
          () => undefined,
        );
        break;
      }
      requests++;
      const t0 = ctx.clock.now();
      let current: string;
      try {
        current = await token.get();
      } catch (err) {
        // Auth refused a fresh token mid-session (a lock landed, the roles changed): the user is told, the app is not asked.
        const text = `tp: access to app "${app.name}" denied: ${describe(err)}`;
        await write(client, plainAnswer(403, 'Forbidden', text)).catch(() => undefined);
        break;
      }
      const out = rewriteRequest(req, {
        token: current,
        upstreamHost: uri.host,
        publicAddr,
        clientAddr: s.client,
        traits: s.user.traits,
        rewrites: app.rewrite.headers,
      });
      const up = upstream;
      const sent = relayMessage(formatHead(out), fromClient, up, reqFraming);
      sent.catch(() => undefined); // awaited below; an answer that fails first must not leave it unhandled
      let res: Head | null;
      let bytes = 0;
      // Interim answers (100 Continue ...) go to the client as they come; the final one follows.
      for (;;) {
        res = await readHead(fromApp);
        if (!res) break;
        const status = Number(res.start[1]);
        if (status === 101 || status < 100 || status >= 200) break;
        await write(client, formatHead(res));
      }
      if (!res) throw new Error('the app closed the connection without an answer');
      const status = Number(res.start[1]);
      const answer = rewriteLocation(res, uri, app.rewrite.redirect, publicAddr);
      const head = formatHead(answer);
      const audit = (extra: Record<string, unknown> = {}) =>
        ctx.emit([
          {
            type: 'app.request',
            success: status < 500,
            ...base,
            method: req.start[0],
            // The path only: a query may carry secrets.
            path: req.start[1].split('?')[0],
            status,
            bytes_out: bytes,
            duration_ms: ctx.clock.now() - t0,
            ...extra,
          },
        ]);
      if (status === 101) {
        await write(client, head);
        audit({ upgrade: req.headers.find(([k]) => k.toLowerCase() === 'upgrade')?.[1] ?? '' });
        await Promise.all([pipeRest(fromClient, up), pipeRest(fromApp, client)]);
        break;
      }
      const framing =
        req.start[0] === 'HEAD' || NO_BODY_STATUS(status) ? { kind: 'none' as const } : framingOf(res, false);
      bytes = await relayMessage(head, fromApp, client, framing);
      const bytesIn = await sent;
      audit({ bytes_in: bytesIn });
      if (framing.kind === 'close' || connectionHas(req, 'close') || connectionHas(res, 'close')) break;
    }
  } catch (err) {
    if (!s.signal.aborted && !client.destroyed && requests === 0)
      await write(client, plainAnswer(502, 'Bad Gateway', `tp: app "${app.name}": ${describe(err)}`)).catch(
        () => undefined,
      );
  } finally {
    s.signal.removeEventListener('abort', stop);
    upstream?.destroy();
    ctx.emit([{ type: 'app.session.end', success: true, ...base, requests }]);
    await flushed(client);
  }
}
