import type { IncomingMessage } from 'node:http';
import * as v from 'valibot';
import { AuditEventSchema, LoginResponseSchema } from '../api/schemas.ts';
import type { WebSessionView } from '../api/webSchemas.ts';
import { FORWARDED_CERT, type Identity } from '../auth/identity.ts';
import { lockedError } from '../auth/locks.ts';
import { BadParameter } from '../errors.ts';
import { noLoginsSentence, recordingScope, ruleAllows } from '../rbac/index.ts';
import { selectorOf } from '../rbac/kind.ts';
import { parseBody, RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { AccessGate } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { pageNodes } from './nodePage.ts';
import { pageResources, visibleResources } from './resourceListing.ts';
import type { TunnelRegistry } from './tunnels.ts';
import { type AuditSearch, EVENT_TYPES, webAuditSearch } from './webAudit.ts';
import {
  checkOrigin,
  newWebKeys,
  sessionCookie,
  sessionToken,
  type WebSession,
  type WebSessionStore,
} from './webSessions.ts';

const Credentials = {
  username: v.pipe(v.string(), v.minLength(1, 'enter a user name'), v.maxLength(64)),
  password: v.pipe(v.string(), v.minLength(1, 'enter a password'), v.maxLength(1024)),
};
const LoginBody = v.strictObject({
  ...Credentials,
  otp: v.optional(v.pipe(v.string(), v.regex(/^\d{6}$/, 'the code has 6 digits'))),
  webauthn: v.optional(v.looseObject({ id: v.string() })),
});
const ChallengeBody = v.strictObject(Credentials);

/** The web origin a browser used to reach us, from its Host header (WebAuthn binds keys to its host name). */
export function requestOrigin(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) throw new BadParameter('bad Host header');
  return `https://${host}`;
}

/** The browser's origin, after checking that a request naming another site's origin is refused (CSRF). */
export function sameSiteOrigin(req: IncomingMessage): string {
  const origin = requestOrigin(req);
  checkOrigin(req, origin);
  return origin;
}

/** Audit events as auth sends them (each keeps its event-specific fields). */
const AuditEvents = v.array(AuditEventSchema);

const json = (body: unknown, headers: Record<string, string> = {}) =>
  new RawResponse(JSON.stringify(body), 'application/json', headers);

/**
 * What the page learns about its session (no certificate or key ever reaches the browser), and which pages its
 * roles open: Recordings for everyone a role does not deny (each user sees their own), the audit log by rule; and,
 * when the roles grant no login, a sentence saying why (the "Log in as" list would otherwise just be empty).
 */
async function sessionView(view: ClusterView, s: WebSession): Promise<WebSessionView> {
  const roles = await view.rolesNamed(s.who.roles);
  return {
    user: s.user,
    roles: s.who.roles,
    logins: s.logins,
    ...(s.logins.length === 0 ? { noLogins: noLoginsSentence(roles, s.who.traits ?? {}) } : {}),
    csrf: s.csrf,
    expires: new Date(s.expires).toISOString(),
    pages: {
      recordings: recordingScope(roles, 'list') !== 'denied',
      audit: ruleAllows(roles, 'audit', 'list'),
      // The Databases page is for users some role lets reach databases at all (db_labels in an allow).
      databases: roles.some((r) => Object.keys(selectorOf(r.spec.allow, 'db_labels') ?? {}).length > 0),
      kube: roles.some((r) => Object.keys(selectorOf(r.spec.allow, 'kubernetes_labels') ?? {}).length > 0),
      apps: roles.some((r) => Object.keys(selectorOf(r.spec.allow, 'app_labels') ?? {}).length > 0),
      desktops: roles.some((r) => Object.keys(selectorOf(r.spec.allow, 'desktop_labels') ?? {}).length > 0),
    },
  };
}

/** Settings of the web UI routes. */
export interface WebUiOptions {
  view: ClusterView;
  tunnels: TunnelRegistry;
  /** Plugin kinds' policies, for the lists of their resources (databases ...). */
  gate: AccessGate;
  sessions: WebSessionStore;
  /** Lifetime of a web login's certificates (auth may cap it by role). */
  sessionTtlMs: number;
}

/**
 * The web UI's API: cookie sessions (login with password and TOTP or a security key, logout), the node list and
 * the plugins' resource lists (databases ...) with search and paging, recordings, the audit log, and the account page. Calls that reach auth carry the session
 * user's own certificate, so auth's role checks apply to the web exactly as to `tp`.
 */
export function webUiRoutes(o: WebUiOptions): Route<Identity>[] {
  const { view, sessions } = o;
  const auth = view.auth;
  /** The request's live session; a user locked since logging in is refused here too, not only at auth and nodes. */
  const session = async (req: IncomingMessage) => {
    const s = await sessions.require(req, requestOrigin(req));
    const lock = await view.lockFor({ user: s.user });
    if (lock) throw lockedError(`user "${s.user}"`, lock);
    return s;
  };
  /** An auth API call made as the session's user. */
  const asUser = (s: WebSession, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    auth.forward(method, path, body, { [FORWARDED_CERT]: s.tlsCertDer });
  const forward = (
    method: 'GET' | 'POST' | 'DELETE',
    from: RegExp,
    to: (params: string[]) => string,
    withOrigin = false,
  ) =>
    [
      method,
      from,
      async ({ req, params, body, query }) => {
        const s = await session(req);
        const qs = query.toString();
        const payload = withOrigin ? { ...(body as object), origin: requestOrigin(req) } : body;
        return asUser(s, method, `${to(params)}${qs ? `?${qs}` : ''}`, payload);
      },
    ] as Route<Identity>;

  return [
    [
      'POST',
      /^\/webapi\/sessions$/,
      async ({ req, body, remote }) => {
        const origin = sameSiteOrigin(req);
        const b = parseBody(LoginBody, body);
        const keys = newWebKeys();
        const r = await auth.send(LoginResponseSchema, 'POST', '/v1/login', {
          ...b,
          origin,
          remoteAddr: remote,
          sshPublicKey: keys.sshPublicKey,
          tlsPublicKey: keys.tlsPublicKey,
          ttlMs: o.sessionTtlMs,
        });
        const { token, session: s } = await sessions.create(r, keys.sshKey);
        return json(await sessionView(view, s), { 'set-cookie': sessionCookie(token, sessions.msLeft(s)) });
      },
    ],
    [
      'POST',
      /^\/webapi\/sessions\/challenge$/,
      async ({ req, body, remote }) =>
        auth.forward(
          'POST',
          '/v1/login/challenge',
          { ...parseBody(ChallengeBody, body), origin: sameSiteOrigin(req), remoteAddr: remote },
          {},
        ),
    ],
    [
      'GET',
      /^\/webapi\/sessions\/current$/,
      async ({ req }) => {
        // Asking "who am I" without a session is a normal answer, not an error (no console noise on the login page).
        const s = await sessions.find(sessionToken(req));
        return s ? { loggedIn: true, ...(await sessionView(view, s)) } : { loggedIn: false };
      },
    ],
    [
      'DELETE',
      /^\/webapi\/sessions\/current$/,
      async ({ req, remote }) => {
        // Logging out works for a locked user too.
        const s = await sessions.require(req, requestOrigin(req));
        await sessions.delete(sessionToken(req));
        view.emit([{ type: 'user.logout', user: s.user, method: 'web', 'addr.remote': remote }]);
        return json({ loggedOut: true }, { 'set-cookie': sessionCookie(undefined) });
      },
    ],
    [
      'GET',
      /^\/webapi\/ui\/nodes$/,
      async ({ req, query }) => {
        const s = await session(req);
        return pageNodes(await view.nodes(), await view.rolesNamed(s.who.roles), s.who.traits ?? {}, o.tunnels, query);
      },
    ],
    [
      'GET',
      /^\/webapi\/ui\/resources\/([a-z][a-z0-9_-]{0,31})$/,
      async ({ req, params, query }) => {
        const s = await session(req);
        return pageResources(await visibleResources(view, o.gate, s.who, params[0]!), query);
      },
    ],
    forward('GET', /^\/webapi\/ui\/recordings$/, () => '/v1/recordings'),
    forward('GET', /^\/webapi\/ui\/recordings\/([0-9a-f-]{36})$/, (p) => `/v1/recordings/${p[0]}`),
    [
      'GET',
      /^\/webapi\/ui\/audit$/,
      async ({ req, query }) => {
        const s = await session(req);
        const search: AuditSearch = (q) =>
          auth.send(AuditEvents, 'GET', `/v1/audit/events?${q}`, undefined, { [FORWARDED_CERT]: s.tlsCertDer });
        return webAuditSearch(search, query);
      },
    ],
    [
      'GET',
      /^\/webapi\/ui\/audit\/types$/,
      async ({ req }) => {
        await session(req);
        return EVENT_TYPES;
      },
    ],
    forward('GET', /^\/webapi\/ui\/account$/, () => '/v1/account'),
    forward('POST', /^\/webapi\/ui\/account\/password$/, () => '/v1/account/password', true),
    forward('POST', /^\/webapi\/ui\/account\/confirm\/webauthn$/, () => '/v1/account/confirm/webauthn', true),
    forward('POST', /^\/webapi\/ui\/account\/webauthn\/begin$/, () => '/v1/account/webauthn/begin', true),
    forward('POST', /^\/webapi\/ui\/account\/webauthn\/finish$/, () => '/v1/account/webauthn/finish', true),
    forward('POST', /^\/webapi\/ui\/account\/totp\/begin$/, () => '/v1/account/totp/begin'),
    forward('POST', /^\/webapi\/ui\/account\/totp\/finish$/, () => '/v1/account/totp/finish', true),
    forward('POST', /^\/webapi\/ui\/account\/devices\/remove$/, () => '/v1/account/devices/remove', true),
    [
      'POST',
      /^\/webapi\/signup(|\/info|\/webauthn)$/,
      async ({ req, body, params }) =>
        auth.forward('POST', `/v1/signup${params[0]}`, { ...(body as object), origin: sameSiteOrigin(req) }, {}),
    ],
  ];
}
