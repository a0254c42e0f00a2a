import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import * as v from 'valibot';
import type { AuditInput } from '../audit/events.ts';
import { BadParameter, describe, NotFound, statusOf, TpError } from '../errors.ts';
import { log } from '../log.ts';
import type { CaType } from './cas.ts';
import { ANONYMOUS, type Identity, identityFromCert } from './identity.ts';
import * as S from './schemas.ts';
import type { AuthService } from './service.ts';

type Handler = (ctx: {
  who: Identity;
  body: unknown;
  params: string[];
  query: URLSearchParams;
  remote: string;
}) => Promise<unknown>;

const MAX_BODY = 1 << 20;

/** Parses a request body with its schema, turning schema issues into one clear BadParameter line. */
function parse<T extends v.GenericSchema>(schema: T, body: unknown): v.InferOutput<T> {
  const r = v.safeParse(schema, body);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
  throw new BadParameter(`invalid request${path ? ` field "${path}"` : ''}: ${issue.message}`);
}

const num = (q: URLSearchParams, k: string) => (q.has(k) ? Number(q.get(k)) : undefined);

/** The routes of the auth API; each calls one AuthService operation. */
function routes(svc: AuthService): [string, RegExp, Handler][] {
  return [
    ['GET', /^\/v1\/ping$/, async () => ({ cluster: svc.cluster, serverTime: new Date().toISOString() })],
    ['GET', /^\/v1\/cas\/(user|host|tls)$/, async ({ params }) => svc.getCa(params[0] as CaType)],
    ['GET', /^\/v1\/users$/, async ({ who }) => svc.listUsers(who)],
    ['POST', /^\/v1\/users$/, async ({ who, body }) => svc.createUser(who, parse(S.CreateUserBody, body))],
    [
      'DELETE',
      /^\/v1\/users\/([^/]+)$/,
      async ({ who, params }) => svc.deleteUser(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    ['POST', /^\/v1\/users\/([^/]+)\/reset$/, async ({ who, params }) => svc.resetUser(who, params[0]!)],
    [
      'POST',
      /^\/v1\/signup$/,
      async ({ who, body }) => {
        const b = parse(S.SignupBody, body);
        return svc.completeSignup(who, b.token, b.password);
      },
    ],
    ['POST', /^\/v1\/login$/, async ({ who, body }) => svc.login(who, parse(S.LoginBody, body))],
    ['POST', /^\/v1\/certs\/user$/, async ({ who, body }) => svc.signUser(who, parse(S.SignUserBody, body))],
    ['POST', /^\/v1\/certs\/host$/, async ({ who, body }) => svc.signHost(who, parse(S.SignHostBody, body))],
    ['POST', /^\/v1\/join$/, async ({ body, remote }) => svc.join({ ...parse(S.JoinBody, body), remoteAddr: remote })],
    ['GET', /^\/v1\/roles$/, async ({ who }) => svc.listRoles(who)],
    ['GET', /^\/v1\/roles\/([^/]+)$/, async ({ who, params }) => svc.getRole(who, params[0]!)],
    [
      'POST',
      /^\/v1\/roles$/,
      async ({ who, body }) => {
        const b = parse(S.PutRoleBody, body);
        await svc.putRole(who, b.role, b.force);
        return { name: b.role.metadata.name };
      },
    ],
    [
      'DELETE',
      /^\/v1\/roles\/([^/]+)$/,
      async ({ who, params }) => svc.deleteRole(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    ['GET', /^\/v1\/tokens$/, async ({ who }) => svc.listTokens(who)],
    [
      'POST',
      /^\/v1\/tokens$/,
      async ({ who, body }) => {
        const b = parse(S.CreateTokenBody, body);
        return svc.createToken(who, b.roles, b.uses, b.ttlMs);
      },
    ],
    [
      'DELETE',
      /^\/v1\/tokens\/([^/]+)$/,
      async ({ who, params }) => svc.deleteToken(who, params[0]!).then(() => ({ deleted: true })),
    ],
    ['GET', /^\/v1\/locks$/, async ({ who }) => svc.listLocks(who)],
    [
      'POST',
      /^\/v1\/locks$/,
      async ({ who, body }) => {
        const b = parse(S.CreateLockBody, body);
        return svc.createLock(who, b.target, b.message, b.ttlMs);
      },
    ],
    [
      'DELETE',
      /^\/v1\/locks\/([^/]+)$/,
      async ({ who, params }) => svc.deleteLock(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'GET',
      /^\/v1\/audit\/events$/,
      async ({ who, query }) =>
        svc.searchAudit(who, {
          since: num(query, 'since'),
          until: num(query, 'until'),
          type: query.get('type') ?? undefined,
          user: query.get('user') ?? undefined,
          limit: num(query, 'limit'),
        }),
    ],
    [
      'POST',
      /^\/v1\/audit\/events$/,
      async ({ who, body }) => ({
        stored: await svc.emitAudit(who, parse(S.EmitAuditBody, body).events as AuditInput[]),
      }),
    ],
  ];
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new BadParameter(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BadParameter('request body is not valid JSON', {}, { cause: err });
  }
}

/** TLS material of the auth API server. */
export interface ApiTls {
  cert: string;
  key: string;
  /** CA certificates whose client certificates are accepted. */
  ca: string[];
}

/**
 * Serves the auth API over HTTPS with client certificates: a verified certificate names the caller; a missing one
 * makes the caller anonymous (allowed only for ping, CA keys and join).
 */
export function createAuthApi(svc: AuthService, tls: ApiTls): Server & { dropConnections(): void } {
  const table = routes(svc);
  const counts = new Map<string, number>();
  const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  // Bun's node:https hides the peer certificate from handlers, so TLS is terminated here and each verified
  // socket is handed to a plain HTTP server (DESIGN.md, Testing facts); the identity is read once per connection.
  const identities = new WeakMap<object, Identity>();
  const open = new Set<TLSSocket>();
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  });
  const server = createTlsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    (socket: TLSSocket) => {
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      identities.set(socket, peer?.raw ? identityFromCert(peer.raw) : ANONYMOUS);
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      http.emit('connection', socket);
    },
  );
  server.on('close', () => http.close());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://auth');
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(type === 'application/json' ? JSON.stringify(body ?? null) : String(body));
    };
    if (url.pathname === '/healthz') return send(200, { status: 'ok' });
    if (url.pathname === '/metrics') {
      const lines = ['# TYPE tp_auth_requests_total counter'];
      for (const [k, n] of counts) {
        const [route, status] = k.split(' ');
        lines.push(`tp_auth_requests_total{route="${route}",status="${status}"} ${n}`);
      }
      return send(200, `${lines.join('\n')}\n`, 'text/plain; version=0.0.4');
    }
    const remote = req.socket.remoteAddress ?? '';
    let routeName = 'unknown';
    try {
      const match = table.find(([m, re]) => m === req.method && re.test(url.pathname));
      if (!match) throw new NotFound(`no such API endpoint: ${req.method} ${url.pathname}`);
      routeName = `${match[0]}:${match[1].source.replace(/\\\//g, '/').replace(/[$^]/g, '')}`;
      const who = identities.get(req.socket) ?? ANONYMOUS;
      const params = match[1].exec(url.pathname)!.slice(1).map(decodeURIComponent);
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const out = await match[2]({ who, body, params, query: url.searchParams, remote });
      count(`${routeName} 200`);
      send(200, out ?? {});
    } catch (err) {
      const status = statusOf(err);
      count(`${routeName} ${status}`);
      if (status >= 500) log.error('auth api request failed', { path: url.pathname, error: describe(err) });
      const code = err instanceof TpError ? err.code : 'internal';
      const message = err instanceof TpError ? err.message : 'internal error (see the auth server log)';
      send(status, { error: { code, message } });
    }
  }
  return Object.assign(server, {
    /** Ends every open connection (idle keep-alives would otherwise hold close() open). */
    dropConnections: () => {
      for (const s of open) s.destroy();
    },
  });
}
