import { AppSessionActivateSchema, AppSessionCreateSchema } from '../api/appSessionSchemas.ts';
import { parseBody } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { Identity } from './identity.ts';
import type { AuthService } from './service.ts';

const AT = /^\/v1\/app_sessions\/([0-9a-f]{64})$/;

/** The auth API of app sessions (proxies only): create from a web session, activate once, read, end. */
export function appSessionRoutes(svc: AuthService): Route<Identity>[] {
  return [
    [
      'POST',
      AT,
      async ({ who, params, body }) => svc.appSessions.create(who, params[0]!, parseBody(AppSessionCreateSchema, body)),
    ],
    [
      'POST',
      /^\/v1\/app_sessions\/([0-9a-f]{64})\/activate$/,
      async ({ who, params, body }) =>
        svc.appSessions.activate(who, params[0]!, parseBody(AppSessionActivateSchema, body).stateHash),
    ],
    ['GET', AT, async ({ who, params }) => svc.appSessions.get(who, params[0]!)],
    ['DELETE', AT, async ({ who, params }) => svc.appSessions.delete(who, params[0]!).then(() => ({ deleted: true }))],
  ];
}
