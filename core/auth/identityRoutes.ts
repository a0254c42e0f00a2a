import { parseBody } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { Identity } from './identity.ts';
import * as S from './identitySchemas.ts';
import type { AuthService } from './service.ts';
import { checkProviderUrl, type SsoConnector } from './sso/connectors.ts';
import type { StoredWebSession } from './webSessionOps.ts';

/**
 * The auth API routes of how people prove who they are: sign-up, login (password, TOTP, security keys), a
 * user's own account, and single sign-on (connectors and the login flow).
 */
export function identityRoutes(svc: AuthService): Route<Identity>[] {
  return [
    [
      'POST',
      /^\/v1\/web_sessions\/([0-9a-f]{64})$/,
      async ({ who, params, body }) => {
        await svc.webSessions.put(who, params[0]!, parseBody(S.WebSessionBody, body) as StoredWebSession);
        return { stored: true };
      },
    ],
    ['GET', /^\/v1\/web_sessions\/([0-9a-f]{64})$/, async ({ who, params }) => svc.webSessions.get(who, params[0]!)],
    [
      'DELETE',
      /^\/v1\/web_sessions\/([0-9a-f]{64})$/,
      async ({ who, params }) => svc.webSessions.delete(who, params[0]!).then(() => ({ deleted: true })),
    ],
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
    ['POST', /^\/v1\/sso\/begin$/, async ({ who, body }) => svc.sso.logins.begin(who, parseBody(S.SsoBeginBody, body))],
    [
      'POST',
      /^\/v1\/sso\/callback$/,
      async ({ who, body }) => svc.sso.logins.callback(who, parseBody(S.SsoCallbackBody, body)),
    ],
    [
      'POST',
      /^\/v1\/sso\/confirm$/,
      async ({ who, body }) => {
        const b = parseBody(S.SsoConfirmBody, body);
        return svc.sso.logins.confirm(who, b.id, b.token);
      },
    ],
    [
      'POST',
      /^\/v1\/sso\/cancel$/,
      async ({ who, body }) => {
        const b = parseBody(S.SsoConfirmBody, body);
        return svc.sso.logins.cancel(who, b.id, b.token).then(() => ({ cancelled: true }));
      },
    ],
    [
      'POST',
      /^\/v1\/account\/password$/,
      async ({ who, body }) => {
        await svc.account.changePassword(who, parseBody(S.ChangePasswordBody, body));
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
        await svc.account.webauthnFinish(who, parseBody(S.WebauthnFinishBody, body));
        return { added: true };
      },
    ],
    ['POST', /^\/v1\/account\/totp\/begin$/, async ({ who }) => svc.account.totpBegin(who)],
    [
      'POST',
      /^\/v1\/account\/totp\/finish$/,
      async ({ who, body }) => {
        await svc.account.totpFinish(who, parseBody(S.TotpFinishBody, body));
        return { added: true };
      },
    ],
    [
      'POST',
      /^\/v1\/account\/devices\/remove$/,
      async ({ who, body }) => {
        const b = parseBody(S.RemoveDeviceBody, body);
        await svc.account.removeDevice(who, b);
        return { removed: b.id };
      },
    ],
    [
      'POST',
      /^\/v1\/account\/confirm\/webauthn$/,
      async ({ who, body }) => svc.account.confirmChallenge(who, parseBody(S.WebauthnBeginBody, body).origin),
    ],
  ];
}
