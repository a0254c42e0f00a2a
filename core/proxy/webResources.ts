// `GET /webapi/resources?kind=db`: the plugins' resources a user's roles show, for `tp db ls` and other clients.
import type { ListedResource } from '../api/resourceSchemas.ts';
import type { Identity } from '../auth/identity.ts';
import { AccessDenied, BadParameter, Unauthenticated } from '../errors.ts';
import type { Route } from '../web/router.ts';
import type { AccessGate } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { visibleResources } from './resourceListing.ts';

/** The resource listing route for users with a certificate (`tp login`): only what their roles let them see. */
export function resourceRoutes(view: ClusterView, gate: AccessGate): Route<Identity>[] {
  return [
    [
      'GET',
      /^\/webapi\/resources$/,
      async ({ who, query }): Promise<ListedResource[]> => {
        if (who.kind === 'anonymous')
          throw new Unauthenticated('a client certificate is required (log in with `tp login`)');
        if (who.kind !== 'user') throw new AccessDenied('this endpoint is for user identities');
        const kind = query.get('kind');
        if (!kind) throw new BadParameter('say which kind of resources to list: ?kind=db');
        return visibleResources(view, gate, who, kind);
      },
    ],
  ];
}
