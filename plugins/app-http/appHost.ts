import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { StoredAppSession } from '../../core/api/appSessionSchemas.ts';
import { describe, statusOf, TpError } from '../../core/errors.ts';
import { cryptoIds, type IdSource } from '../../core/ids.ts';
import type { ProxyPluginContext, ResourceRecord } from '../../core/plugin/types.ts';
import { appPublicAddr, LAUNCH_PATH, safeAppPath } from '../../core/proxy/appLaunch.ts';
import {
  APP_SESSION_COOKIE,
  APP_STATE_COOKIE,
  type AppSessionCache,
  cookieIn,
  hostCookie,
  tokenHash,
  withoutTpCookies,
} from './appSessions.ts';
import { handOff } from './handOff.ts';
import { answer, loggedOutPage, redirect } from './hostPages.ts';
import {
  connectionHas,
  type Framing,
  formatHead,
  framingOf,
  type Head,
  pipeRest,
  readHead,
  relayMessage,
  values,
} from './http1.ts';
import { StreamReader, write } from './reader.ts';

const LOGOUT_PATH = '/tp-logout';
/** How long a kept-alive browser connection may sit between requests. */
const KEEPALIVE_IDLE_MS = 120_000;
const NO_BODY_STATUS = (s: number) => (s >= 100 && s < 200) || s === 204 || s === 304;
const hostOnly = (addr: string) => addr.replace(/:\d+$/, '').toLowerCase();
const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  423: 'Locked',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The app served on `host` (the connection's SNI), if any. */
export async function appForHost(ctx: ProxyPluginContext, host: string): Promise<ResourceRecord | undefined> {
  const apps = await ctx.view.resources('app');
  return apps.find((a) => a.plugin === 'app-http' && hostOnly(appPublicAddr(a, ctx.publicAddr)) === host);
}

/** Whom requests go to the agent as: an app session's user, or an app certificate's holder. */
export type Holder = Pick<StoredAppSession, 'id' | 'app' | 'publicAddr' | 'user' | 'roles' | 'traits' | 'tlsCertDer'>;

/** The agent stream a connection holds for one app session. */
interface Upstream {
  token: string;
  stream: Duplex;
  reader: StreamReader;
}

/** Serves one browser connection on an app host until it ends. */
export async function serveAppHost(
  socket: TLSSocket,
  ctx: ProxyPluginContext,
  sessions: AppSessionCache,
  /** The holder of the connection's app certificate, when it presented one: no cookie is needed then. */
  byCert?: Holder,
  ids: IdSource = cryptoIds,
): Promise<void> {
  const host = (socket.servername || '').toLowerCase();
  const fromClient = new StreamReader(socket);
  const client = `${socket.remoteAddress}:${socket.remotePort}`;
  let up: Upstream | undefined;
  let served = 0;
  // The client gets every byte written before the end (destroy would drop what is still buffered).
  const close = () => {
    up?.stream.destroy();
    if (socket.destroyed) return;
    socket.end();
    setTimeout(() => socket.destroy(), 10_000).unref();
  };
  /**
   * The agent ending the session it holds (certificate expiry, a lock) ends the connection, idle or not (what was
   * written to the client still goes out first).
   */
  const endsWith = (u: Upstream): Upstream => {
    u.stream.once('close', () => {
      if (up === u && !busy) socket.end();
    });
    return u;
  };
  let busy = false;
  /** One exchange on the session's stream; false when the connection ends after it (or the agent ended it). */
  const relay = async (req: Head, framing: Framing, u: Upstream): Promise<boolean> => {
    busy = true;
    try {
      return (await exchange(req, framing, fromClient, socket, u)) && !u.stream.destroyed;
    } finally {
      busy = false;
    }
  };
  try {
    const app = await appForHost(ctx, host);
    for (;;) {
      let req: Head | null;
      let framing: Framing;
      try {
        // A head must come within the header deadline (the first) or the keep-alive idle time (the next ones);
        // bodies, answers and upgraded connections have no deadline of their own.
        socket.setTimeout(served === 0 ? ctx.headerTimeoutMs : KEEPALIVE_IDLE_MS, () => socket.destroy());
        req = await readHead(fromClient);
        socket.setTimeout(0);
        served++;
        if (!req) break;
        framing = framingOf(req, true);
      } catch (err) {
        await write(socket, answer(400, 'Bad Request', `tp: bad request: ${describe(err)}\n`, { close: true }));
        break;
      }
      if (!app) {
        await write(socket, answer(404, 'Not Found', `tp: no app is served on ${host}\n`, { close: true }));
        break;
      }
      const publicAddr = appPublicAddr(app, ctx.publicAddr);
      if (values(req, 'host').length !== 1 || hostOnly(values(req, 'host')[0]!) !== host) {
        await write(
          socket,
          answer(421, 'Misdirected Request', `tp: this connection serves ${host} only\n`, { close: true }),
        );
        break;
      }
      // tp's own answers keep the connection unless the client asked to close it (or speaks HTTP/1.0).
      const keep = framing.kind === 'none' && !connectionHas(req, 'close') && req.start[2] === 'HTTP/1.1';
      const target = req.start[1];
      const path = target.split('?')[0]!;
      const cookies = values(req, 'cookie');
      if (path === LAUNCH_PATH) {
        const out = await handOff(req, framing, fromClient, ctx, app, publicAddr, sessions.now());
        await write(socket, out);
        if (!keep && !(framing.kind === 'length' && !connectionHas(req, 'close'))) break;
        continue;
      }
      const token = cookieIn(cookies, APP_SESSION_COOKIE);
      if (path === LOGOUT_PATH) {
        if (token) {
          const s = await sessions.find(ctx, token).catch(() => undefined);
          sessions.forget(token);
          await ctx.call('DELETE', `/v1/app_sessions/${tokenHash(token)}`, undefined, (j) => j);
          if (s)
            ctx.emit([
              {
                type: 'app.session.end',
                success: true,
                via: 'web',
                user: s.user,
                session_id: s.id,
                app_name: app.name,
                'addr.remote': client,
              },
            ]);
        }
        up?.stream.destroy();
        up = undefined;
        await write(socket, loggedOutPage(app.name, hostCookie(APP_SESSION_COOKIE, '', 0)));
        if (!keep) break;
        continue;
      }
      if (byCert) {
        if (byCert.app !== app.name) {
          const text = `tp: this certificate is for app "${byCert.app}", not "${app.name}": run \`tp apps login ${app.name}\`\n`;
          await write(socket, answer(403, 'Forbidden', text, { close: true }));
          break;
        }
        up ??= endsWith(await openUpstream(ctx, app, byCert, 'cert', client, publicAddr));
        if (!(await relay(req, framing, up))) break;
        continue;
      }
      const session = token ? await sessions.find(ctx, token) : undefined;
      if (!token || !session || session.app !== app.name || hostOnly(session.publicAddr) !== host) {
        if (up) {
          up.stream.destroy();
          up = undefined;
        }
        if (req.start[0] !== 'GET' && req.start[0] !== 'HEAD') {
          await write(
            socket,
            answer(401, 'Unauthorized', `tp: log in to ${app.name} first: open https://${publicAddr}/\n`, {
              close: true,
            }),
          );
          break;
        }
        const state = ids.bytes(32).toString('base64url');
        const launch = `https://${ctx.publicAddr}/web/launch/${encodeURIComponent(app.name)}?${new URLSearchParams({ state, path: safeAppPath(target) })}`;
        await write(socket, redirect(launch, [hostCookie(APP_STATE_COOKIE, state, 10 * 60_000)]));
        if (!keep) break;
        continue;
      }
      if (!up || up.token !== token) {
        up?.stream.destroy();
        up = endsWith(await openUpstream(ctx, app, session, token, client, publicAddr));
      }
      const more = await relay(req, framing, up);
      if (!more) break;
    }
  } catch (err) {
    if (!socket.destroyed && !socket.writableEnded) {
      const e = err instanceof TpError ? err : undefined;
      const status = e ? statusOf(e) : 502;
      await write(socket, answer(status, REASONS[status] ?? 'Error', `tp: ${describe(err)}\n`, { close: true })).catch(
        () => undefined,
      );
    }
  } finally {
    close();
  }
}

/** Checks the session may reach the app now (roles, locks) and opens a stream to its agent as its user. */
async function openUpstream(
  ctx: ProxyPluginContext,
  app: ResourceRecord,
  s: Holder,
  token: string,
  client: string,
  publicAddr: string,
): Promise<Upstream> {
  const who = { name: s.user, roles: s.roles, traits: s.traits };
  const record = await ctx.gate.authorize<ResourceRecord>({
    kind: 'app',
    who,
    target: app.name,
    via: 'app-http',
    remote: client,
  });
  const stream = await ctx.dial(record, {
    resource: record.name,
    route: { public_addr: publicAddr },
    cert: s.tlsCertDer,
    client,
    sessionId: s.id,
    user: s.user,
  });
  stream.on('error', () => undefined);
  return { token, stream, reader: new StreamReader(stream) };
}

/** One request to the agent and its answer back; false when the connection ends after it. */
async function exchange(
  req: Head,
  framing: Framing,
  fromClient: StreamReader,
  socket: TLSSocket,
  up: Upstream,
): Promise<boolean> {
  const headers = req.headers.flatMap(([k, val]): [string, string][] => {
    if (k.toLowerCase() !== 'cookie') return [[k, val]];
    const kept = withoutTpCookies(val);
    return kept ? [[k, kept]] : [];
  });
  const sent = relayMessage(formatHead({ start: req.start, headers }), fromClient, up.stream, framing);
  sent.catch(() => undefined);
  let res: Head | null;
  for (;;) {
    res = await readHead(up.reader);
    if (!res) throw new TpError('the agent closed the connection without an answer');
    const status = Number(res.start[1]);
    if (status === 101 || status < 100 || status >= 200) break;
    await write(socket, formatHead(res));
  }
  const status = Number(res.start[1]);
  if (status === 101) {
    await write(socket, formatHead(res));
    await Promise.all([pipeRest(fromClient, up.stream), pipeRest(up.reader, socket)]);
    return false;
  }
  const resFraming =
    req.start[0] === 'HEAD' || NO_BODY_STATUS(status) ? { kind: 'none' as const } : framingOf(res, false);
  await relayMessage(formatHead(res), up.reader, socket, resFraming);
  await sent;
  return !(resFraming.kind === 'close' || connectionHas(req, 'close') || connectionHas(res, 'close'));
}
