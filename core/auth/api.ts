import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import { BadParameter } from '../errors.ts';
import { parseBody } from '../web/json.ts';
import { jsonApi, queryNumber, type Route, whileConnected } from '../web/router.ts';
import { appSessionRoutes } from './appSessionRoutes.ts';
import { auditRoutes } from './auditRoutes.ts';
import { botRoutes } from './botRoutes.ts';
import type { CaType } from './cas.ts';
import type { ChangeStream } from './changeStream.ts';
import { ciJoinRoutes } from './ciJoin/routes.ts';
import { ANONYMOUS, FORWARDED_CERT, forwardedIdentity, type Identity, identityFromCert } from './identity.ts';
import { identityRoutes } from './identityRoutes.ts';
import * as S from './schemas.ts';
import type { AuthService } from './service.ts';

/** Longest a change-stream long poll is held open (ms); clients ask for less. */
const MAX_WAIT_MS = 25_000;

/** The routes of the auth API; each calls one AuthService operation. */
function routes(svc: AuthService, changes: ChangeStream): Route<Identity>[] {
  return [
    [
      'GET',
      /^\/v1\/ping$/,
      async () => ({
        cluster: svc.cluster,
        secondFactor: svc.secondFactor,
        sessionRecording: svc.deps.sessionRecording,
        serverTime: new Date().toISOString(),
      }),
    ],
    ['GET', /^\/v1\/cas\/(user|host|tls|db|db_client|jwt)$/, async ({ params }) => svc.cas.public(params[0] as CaType)],
    ['GET', /^\/v1\/users$/, async ({ who }) => svc.users.listUsers(who)],
    ['POST', /^\/v1\/users$/, async ({ who, body }) => svc.users.createUser(who, parseBody(S.CreateUserBody, body))],
    [
      'DELETE',
      /^\/v1\/users\/([^/]+)$/,
      async ({ who, params }) => svc.users.deleteUser(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'POST',
      /^\/v1\/users\/([^/]+)$/,
      async ({ who, params, body }) => svc.users.updateUser(who, params[0]!, parseBody(S.UpdateUserBody, body)),
    ],
    ['POST', /^\/v1\/users\/([^/]+)\/reset$/, async ({ who, params }) => svc.users.resetUser(who, params[0]!)],
    ...identityRoutes(svc),
    ...appSessionRoutes(svc),
    ...botRoutes(svc.bots, svc.botIdentities),
    ...ciJoinRoutes(svc.ciJoins),
    ...auditRoutes(svc),
    ['POST', /^\/v1\/certs\/user$/, async ({ who, body }) => svc.certs.signUser(who, parseBody(S.SignUserBody, body))],
    ['POST', /^\/v1\/certs\/host$/, async ({ who, body }) => svc.certs.signHost(who, parseBody(S.SignHostBody, body))],
    [
      'POST',
      /^\/v1\/certs\/db$/,
      async ({ who, body }) => svc.dbCerts.signServer(who, parseBody(S.SignDbServerBody, body)),
    ],
    [
      'POST',
      /^\/v1\/db\/cert$/,
      async ({ who, body }) => svc.dbCerts.signClient(who, parseBody(S.DbClientCertBody, body)),
    ],
    ['POST', /^\/v1\/apps\/cert$/, async ({ who, body }) => svc.appCerts.sign(who, parseBody(S.AppCertBody, body))],
    ['POST', /^\/v1\/apps\/token$/, async ({ who, body }) => svc.appTokens.sign(who, parseBody(S.AppTokenBody, body))],
    [
      'POST',
      /^\/v1\/join$/,
      async ({ body, remote }) => svc.joins.join({ ...parseBody(S.JoinBody, body), remoteAddr: remote }),
    ],
    ['GET', /^\/v1\/roles$/, async ({ who }) => svc.resources.listRoles(who)],
    ['GET', /^\/v1\/roles\/([^/]+)$/, async ({ who, params }) => svc.resources.getRole(who, params[0]!)],
    [
      'POST',
      /^\/v1\/roles$/,
      async ({ who, body }) => {
        const b = parseBody(S.PutRoleBody, body);
        await svc.resources.putRole(who, b.role, b.force);
        return { name: b.role.metadata.name };
      },
    ],
    [
      'DELETE',
      /^\/v1\/roles\/([^/]+)$/,
      async ({ who, params }) => svc.resources.deleteRole(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    ['GET', /^\/v1\/tokens$/, async ({ who }) => svc.resources.listTokens(who)],
    [
      'POST',
      /^\/v1\/tokens$/,
      async ({ who, body }) => {
        const b = parseBody(S.CreateTokenBody, body);
        return svc.resources.createToken(who, b.roles, b.uses, b.ttlMs);
      },
    ],
    [
      'DELETE',
      /^\/v1\/tokens\/([^/]+)$/,
      async ({ who, params }) => svc.resources.deleteToken(who, params[0]!).then(() => ({ deleted: true })),
    ],
    ['GET', /^\/v1\/locks$/, async ({ who }) => svc.resources.listLocks(who)],
    [
      'POST',
      /^\/v1\/locks$/,
      async ({ who, body }) => {
        const b = parseBody(S.CreateLockBody, body);
        return svc.resources.createLock(who, b.target, b.message, b.ttlMs);
      },
    ],
    [
      'DELETE',
      /^\/v1\/locks\/([^/]+)$/,
      async ({ who, params }) => svc.resources.deleteLock(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'GET',
      /^\/v1\/rotation$/,
      async ({ who }) =>
        who.kind === 'node' || who.kind === 'proxy' ? svc.rotation.brief() : svc.rotation.status(who),
    ],
    [
      'POST',
      /^\/v1\/rotation\/start$/,
      async ({ who, body }) => svc.rotation.start(who, parseBody(S.RotationStartBody, body)),
    ],
    [
      'POST',
      /^\/v1\/rotation\/phase$/,
      async ({ who, body }) => {
        const b = parseBody(S.RotationPhaseBody, body);
        return svc.rotation.setPhase(who, b.phase, { force: b.force });
      },
    ],
    ['POST', /^\/v1\/rotation\/rollback$/, async ({ who }) => svc.rotation.rollback(who)],
    [
      'POST',
      /^\/v1\/rotation\/report$/,
      async ({ who, body }) =>
        svc.rotation.report(who, parseBody(S.RotationReportBody, body)).then(() => ({ ok: true })),
    ],
    [
      'POST',
      /^\/v1\/certs\/reissue$/,
      async ({ who, body }) => svc.renewals.reissue(who, parseBody(S.ReissueBody, body)),
    ],
    [
      'GET',
      /^\/v1\/watch\/snapshot$/,
      async ({ who }) => {
        await svc.authz.authorize(who, 'watch', 'read');
        return changes.snapshot();
      },
    ],
    [
      'GET',
      /^\/v1\/watch\/changes$/,
      async ({ who, query, req }) => {
        await svc.authz.authorize(who, 'watch', 'read');
        const after = queryNumber(query, 'after');
        if (after === undefined || !Number.isInteger(after) || after < 0) {
          throw new BadParameter('after must be the revision of your last snapshot or batch');
        }
        const waitMs = Math.min(queryNumber(query, 'waitMs') ?? 0, MAX_WAIT_MS);
        return whileConnected(req, (signal) => changes.changes(after, waitMs, signal));
      },
    ],
    ['GET', /^\/v1\/nodes$/, async ({ who }) => svc.resources.listNodes(who)],
    ['GET', /^\/v1\/nodes\/seen$/, async ({ who }) => svc.resources.listSeenNodes(who)],
    [
      'POST',
      /^\/v1\/nodes$/,
      async ({ who, body }) => {
        const b = parseBody(S.UpsertNodeBody, body);
        const revision = await svc.resources.upsertNode(who, { ...b.node, lastSeen: '' }, b.ttlMs);
        return { hostId: b.node.hostId, revision };
      },
    ],
    [
      'POST',
      /^\/v1\/resources\/heartbeat$/,
      async ({ who, body }) => {
        const b = parseBody(S.ResourceHeartbeatBody, body);
        return { revision: await svc.resourceRecords.heartbeat(who, b.resources, b.ttlMs) };
      },
    ],
    [
      'DELETE',
      /^\/v1\/nodes\/([^/]+)$/,
      async ({ who, params }) => svc.resources.deleteNode(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
  ];
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
export function createAuthApi(
  svc: AuthService,
  tls: ApiTls,
  changes: ChangeStream,
): Server & { dropConnections(): void; renderMetrics(): string } {
  const table = routes(svc, changes);
  // Bun's node:https hides the peer certificate from handlers, so TLS is terminated here and each verified
  // socket is handed to a plain HTTP server (DESIGN.md, Testing facts); the identity is read once per connection.
  const identities = new WeakMap<object, Identity>();
  const open = new Set<TLSSocket>();
  const handle = jsonApi(table, {
    metric: 'tp_auth_requests_total',
    gauges: () => ({ tp_auth_state_snapshots_total: changes.snapshots }),
    who: (req) => {
      const who = identities.get(req.socket) ?? ANONYMOUS;
      const forwarded = req.headers[FORWARDED_CERT];
      // A proxy may act for a logged-in user (admin commands from a profile); the user's own roles then decide.
      if (who.kind === 'proxy' && typeof forwarded === 'string') {
        return forwardedIdentity(forwarded, svc.ca('tls').tlsTrusted, svc.deps.clock.now());
      }
      return who;
    },
  });
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
      handshakeTimeout: 10_000,
    },
    (socket: TLSSocket) => {
      // A handshake that finished after close() began: nothing will end this connection but us.
      if (closing) return void socket.destroy();
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      identities.set(socket, peer?.raw ? identityFromCert(peer.raw) : ANONYMOUS);
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      http.emit('connection', socket);
    },
  );
  server.on('close', () => http.close());
  // Connections still in their TLS handshake are not in `open` yet; close() waits for them too.
  let closing = false;
  const handshaking = new Set<Duplex>();
  server.on('connection', (raw: Duplex) => {
    handshaking.add(raw);
    raw.once('close', () => handshaking.delete(raw));
  });
  // Bun reports a failed or timed-out handshake here but leaves the socket open.
  server.on('tlsClientError', (_err, sock) => sock?.destroy());

  return Object.assign(server, {
    renderMetrics: handle.renderMetrics,
    /** Ends every open connection, and any still shaking hands (idle keep-alives would otherwise hold close() open). */
    dropConnections: () => {
      closing = true;
      for (const s of open) s.destroy();
      for (const s of handshaking) s.destroy();
    },
  });
}
