import { BadParameter } from '../errors.ts';
import { parseBody } from '../web/json.ts';
import { queryNumber, type Route } from '../web/router.ts';
import type { Identity } from './identity.ts';
import * as S from './schemas.ts';
import type { AuthService } from './service.ts';

/** The auth API of the audit log (search, export, agents' intake) and of session recordings (list, read, upload). */
export function auditRoutes(svc: AuthService): Route<Identity>[] {
  return [
    [
      'GET',
      /^\/v1\/audit\/export$/,
      async ({ who, query }) => svc.audit.exportAfter(who, queryNumber(query, 'cursor'), queryNumber(query, 'limit')),
    ],
    ['GET', /^\/v1\/recordings$/, async ({ who, query }) => svc.recordings.list(who, queryNumber(query, 'limit'))],
    [
      'GET',
      /^\/v1\/recordings\/search$/,
      async ({ who, query }) => svc.recordings.search(who, query.get('q') ?? '', queryNumber(query, 'limit')),
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
      /^\/v1\/audit\/events$/,
      async ({ who, query }) =>
        svc.audit.search(who, {
          since: queryNumber(query, 'since'),
          until: queryNumber(query, 'until'),
          type: query.get('type') ?? undefined,
          user: query.get('user') ?? undefined,
          userPrefix: query.get('user_prefix') ?? undefined,
          session: query.get('session') ?? undefined,
          limit: queryNumber(query, 'limit'),
          order: query.get('order') === 'newest' ? 'newest' : 'oldest',
        }),
    ],
    [
      'POST',
      /^\/v1\/audit\/events$/,
      async ({ who, body }) => svc.audit.intake(who, parseBody(S.EmitAuditBody, body).events),
    ],
  ];
}
