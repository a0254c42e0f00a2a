import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import type { AuditInput } from '../audit/events.ts';
import { BadParameter } from '../errors.ts';
import { parseBody } from '../web/json.ts';
import { jsonApi, type Route } from '../web/router.ts';
import type { CaType } from './cas.ts';
import { ANONYMOUS, FORWARDED_CERT, forwardedIdentity, type Identity, identityFromCert } from './identity.ts';
import * as S from './schemas.ts';
import type { AuthService } from './service.ts';
import { checkProviderUrl, type SsoConnector } from './sso/connectors.ts';

const num = (q: URLSearchParams, k: string) => (q.has(k) ? Number(q.get(k)) : undefined);

/** The routes of the auth API; each calls one AuthService operation. */
function routes(svc: AuthService): Route<Identity>[] {
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
    ['GET', /^\/v1\/cas\/(user|host|tls)$/, async ({ params }) => svc.getCa(params[0] as CaType)],
    ['GET', /^\/v1\/users$/, async ({ who }) => svc.users.listUsers(who)],
    ['POST', /^\/v1\/users$/, async ({ who, body }) => svc.users.createUser(who, parseBody(S.CreateUserBody, body))],
    [
      'DELETE',
      /^\/v1\/users\/([^/]+)$/,
      async ({ who, params }) => svc.users.deleteUser(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    ['POST', /^\/v1\/users\/([^/]+)\/reset$/, async ({ who, params }) => svc.users.resetUser(who, params[0]!)],
    ['POST', /^\/v1\/signup$/, async ({ who, body }) => svc.users.completeSignup(who, parseBody(S.SignupBody, body))],
    [
      'POST',
      /^\/v1\/signup\/info$/,
      async ({ who, body }) => svc.users.signupInfo(who, parseBody(S.SignupTokenBody, body).token),
    ],
    [
      'POST',
      /^\/v1\/signup\/webauthn$/,
      async ({ who, body }) => {
        const b = parseBody(S.SignupTokenBody, body);
        return svc.users.signupWebauthn(who, b.token, b.origin ?? '');
      },
    ],
    ['POST', /^\/v1\/login$/, async ({ who, body }) => svc.certs.login(who, parseBody(S.LoginBody, body))],
    [
      'POST',
      /^\/v1\/login\/challenge$/,
      async ({ who, body }) => svc.certs.loginChallenge(who, parseBody(S.LoginChallengeBody, body)),
    ],
    ['GET', /^\/v1\/account$/, async ({ who }) => svc.account.view(who)],
    ['GET', /^\/v1\/sso\/connectors$/, async ({ who }) => svc.sso.listConnectors(who)],
    ['GET', /^\/v1\/sso\/choices$/, async () => svc.sso.loginChoices()],
    [
      'POST',
      /^\/v1\/sso\/connectors$/,
      async ({ who, body }) => {
        const c = parseBody(S.SsoConnectorBody, body);
        const issuerOrEndpoint =
          c.kind === 'oidc'
            ? { issuer: checkProviderUrl('issuer', c.issuer) }
            : {
                endpointUrl: checkProviderUrl('endpoint URL', c.endpointUrl),
                apiUrl: checkProviderUrl('API URL', c.apiUrl),
              };
        return svc.sso.createConnector(who, {
          ...c,
          ...issuerOrEndpoint,
          createdAt: new Date(svc.deps.clock.now()).toISOString(),
        } as SsoConnector);
      },
    ],
    [
      'DELETE',
      /^\/v1\/sso\/connectors\/([^/]+)$/,
      async ({ who, params }) => svc.sso.deleteConnector(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'GET',
      /^\/v1\/sso\/connectors\/([^/]+)\/check$/,
      async ({ who, params }) => svc.sso.checkConnector(who, params[0]!),
    ],
    ['POST', /^\/v1\/sso\/begin$/, async ({ who, body }) => svc.sso.begin(who, parseBody(S.SsoBeginBody, body))],
    [
      'POST',
      /^\/v1\/sso\/callback$/,
      async ({ who, body }) => svc.sso.callback(who, parseBody(S.SsoCallbackBody, body)),
    ],
    [
      'POST',
      /^\/v1\/sso\/redeem$/,
      async ({ who, body }) => {
        const b = parseBody(S.SsoRedeemBody, body);
        return svc.sso.redeem(who, b.id, b.secret);
      },
    ],
    [
      'POST',
      /^\/v1\/account\/password$/,
      async ({ who, body }) => {
        const b = parseBody(S.ChangePasswordBody, body);
        await svc.account.changePassword(who, b.oldPassword, b.newPassword);
        return { changed: true };
      },
    ],
    [
      'POST',
      /^\/v1\/account\/webauthn\/begin$/,
      async ({ who, body }) => svc.account.webauthnBegin(who, parseBody(S.WebauthnBeginBody, body).origin),
    ],
    [
      'POST',
      /^\/v1\/account\/webauthn\/finish$/,
      async ({ who, body }) => {
        const b = parseBody(S.WebauthnFinishBody, body);
        await svc.account.webauthnFinish(who, b.response, b.name, b.origin);
        return { added: true };
      },
    ],
    ['POST', /^\/v1\/account\/totp\/begin$/, async ({ who }) => svc.account.totpBegin(who)],
    [
      'POST',
      /^\/v1\/account\/totp\/finish$/,
      async ({ who, body }) => {
        await svc.account.totpFinish(who, parseBody(S.TotpFinishBody, body).otp);
        return { added: true };
      },
    ],
    [
      'DELETE',
      /^\/v1\/account\/devices\/([A-Za-z0-9_-]{1,1024})$/,
      async ({ who, params }) => svc.account.removeDevice(who, params[0]!).then(() => ({ removed: params[0] })),
    ],
    ['POST', /^\/v1\/certs\/user$/, async ({ who, body }) => svc.certs.signUser(who, parseBody(S.SignUserBody, body))],
    ['POST', /^\/v1\/certs\/host$/, async ({ who, body }) => svc.certs.signHost(who, parseBody(S.SignHostBody, body))],
    [
      'POST',
      /^\/v1\/join$/,
      async ({ body, remote }) => svc.certs.join({ ...parseBody(S.JoinBody, body), remoteAddr: remote }),
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
      /^\/v1\/audit\/export$/,
      async ({ who, query }) => {
        await svc.authorize(who, 'audit', 'list');
        const limit = Math.min(num(query, 'limit') ?? 1000, 10_000);
        return svc.deps.audit.store.exportAfter(num(query, 'cursor') ?? 0, limit);
      },
    ],
    ['GET', /^\/v1\/recordings$/, async ({ who, query }) => svc.recordings.list(who, num(query, 'limit'))],
    [
      'GET',
      /^\/v1\/recordings\/search$/,
      async ({ who, query }) => svc.recordings.search(who, query.get('q') ?? '', num(query, 'limit')),
    ],
    ['GET', /^\/v1\/recordings\/([^/]+)$/, async ({ who, params }) => svc.recordings.get(who, params[0]!)],
    [
      'POST',
      /^\/v1\/recordings\/([^/]+)$/,
      async ({ who, body, params }) => {
        const { meta } = parseBody(S.RecordingMetaBody, body);
        if (meta.sessionId !== params[0]) throw new BadParameter('session ID in the path and the body differ');
        await svc.recordings.putMeta(who, meta);
        return { stored: meta.sessionId };
      },
    ],
    [
      'POST',
      /^\/v1\/recordings\/([^/]+)\/parts\/(\d{1,6})$/,
      async ({ who, body, params }) => {
        const { data } = parseBody(S.RecordingPartBody, body);
        await svc.recordings.putPart(who, params[0]!, Number(params[1]), Buffer.from(data, 'base64'));
        return { stored: Number(params[1]) };
      },
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
      async ({ who, body }) => svc.rotation.setPhase(who, parseBody(S.RotationPhaseBody, body).phase),
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
      async ({ who, body }) => svc.rotation.reissue(who, parseBody(S.ReissueBody, body)),
    ],
    ['GET', /^\/v1\/nodes$/, async ({ who }) => svc.resources.listNodes(who)],
    [
      'POST',
      /^\/v1\/nodes$/,
      async ({ who, body }) => {
        const b = parseBody(S.UpsertNodeBody, body);
        await svc.resources.upsertNode(who, { ...b.node, lastSeen: '' }, b.ttlMs);
        return { hostId: b.node.hostId };
      },
    ],
    [
      'DELETE',
      /^\/v1\/nodes\/([^/]+)$/,
      async ({ who, params }) => svc.resources.deleteNode(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'GET',
      /^\/v1\/audit\/events$/,
      async ({ who, query }) =>
        svc.resources.searchAudit(who, {
          since: num(query, 'since'),
          until: num(query, 'until'),
          type: query.get('type') ?? undefined,
          user: query.get('user') ?? undefined,
          session: query.get('session') ?? undefined,
          limit: num(query, 'limit'),
        }),
    ],
    [
      'POST',
      /^\/v1\/audit\/events$/,
      async ({ who, body }) => ({
        stored: await svc.resources.emitAudit(who, parseBody(S.EmitAuditBody, body).events as AuditInput[]),
      }),
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
export function createAuthApi(svc: AuthService, tls: ApiTls): Server & { dropConnections(): void } {
  const table = routes(svc);
  // Bun's node:https hides the peer certificate from handlers, so TLS is terminated here and each verified
  // socket is handed to a plain HTTP server (DESIGN.md, Testing facts); the identity is read once per connection.
  const identities = new WeakMap<object, Identity>();
  const open = new Set<TLSSocket>();
  const handle = jsonApi(table, {
    metric: 'tp_auth_requests_total',
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

  return Object.assign(server, {
    /** Ends every open connection (idle keep-alives would otherwise hold close() open). */
    dropConnections: () => {
      for (const s of open) s.destroy();
    },
  });
}
