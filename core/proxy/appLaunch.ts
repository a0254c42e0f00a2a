// The web UI's app launcher (issue 20): for a logged-in user whose roles allow the app, an app session at auth bound
// to the web session, handed to the app's own host in the URL fragment with the state the app host set as a cookie.
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { StoredAppSessionSchema } from '../api/appSessionSchemas.ts';
import type { Identity } from '../auth/identity.ts';
import { lockedError } from '../auth/locks.ts';
import { describe } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { parseHostPort } from '../net/index.ts';
import type { ResourceRecord } from '../plugin/types.ts';
import { parseBody } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { AccessGate } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { sessionHash, sessionToken, type WebSessionStore } from './webSessions.ts';
import { requestOrigin } from './webUi.ts';

/** Where the app host takes the launch back: a tiny page that posts the URL fragment to itself. */
export const LAUNCH_PATH = '/tp-launch';
/** A launch's state: 32 random bytes, base64url (what the app host's state cookie holds). */
export const STATE = /^[A-Za-z0-9_-]{43}$/;

const LaunchBody = v.strictObject({
  app: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'an app name')),
  state: v.optional(v.pipe(v.string(), v.regex(STATE, 'a malformed launch state'))),
  path: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});

/** SHA-256 hex of `s`. */
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The host (and port) an app is served on: its `public_addr`, else `<name>.<proxy public host>`; either takes the
 * proxy's public port when it names none and that port is not 443.
 */
export function appPublicAddr(app: Pick<ResourceRecord, 'name' | 'spec'>, proxyPublicAddr: string): string {
  const [proxyHost, proxyPort] = parseHostPort(proxyPublicAddr);
  const given = typeof app.spec.public_addr === 'string' ? app.spec.public_addr : `${app.name}.${proxyHost}`;
  if (/:\d+$/.test(given) || proxyPort === 443) return given.toLowerCase();
  return `${given}:${proxyPort}`.toLowerCase();
}

/**
 * A path on the app host to land on, or `/`: only an absolute path (never `//host`, `/\host`, a scheme or control
 * characters), so the launcher can never send a browser to another site.
 */
export function safeAppPath(path: string | undefined): string {
  if (!path || !/^\/(?![/\\])[\x21-\x7e]*$/.test(path)) return '/';
  return path;
}

/** What the launcher routes need. */
export interface AppLaunchDeps {
  view: ClusterView;
  gate: AccessGate;
  sessions: WebSessionStore;
  publicAddr: () => string;
  ids?: IdSource;
}

/**
 * `POST /webapi/apps/launch {app, state?, path?}` (web session, CSRF): without a state, the app's URL (its host
 * sets a state cookie and sends the browser back here); with one, a new app session at auth and the app host's
 * `/tp-launch#state=..&value=..&path=..` URL. Refusals by the gate (roles, locks) are audited there.
 */
export function appLaunchRoutes(d: AppLaunchDeps): Route<Identity>[] {
  const ids = d.ids ?? cryptoIds;
  return [
    [
      'POST',
      /^\/webapi\/apps\/launch$/,
      async ({ req, body, remote }) => {
        const s = await d.sessions.require(req, requestOrigin(req));
        const lock = await d.view.lockFor({ user: s.user });
        if (lock) throw lockedError(`user "${s.user}"`, lock);
        const b = parseBody(LaunchBody, body);
        const app = await d.gate.authorize<ResourceRecord>({
          kind: 'app',
          who: s.who,
          target: b.app,
          via: 'web',
          remote,
        });
        const host = appPublicAddr(app, d.publicAddr());
        const path = safeAppPath(b.path);
        if (!b.state) return { url: `https://${host}${path}` };
        const token = ids.bytes(32).toString('base64url');
        const id = ids.uuid();
        const base = { user: s.user, session_id: id, app_name: app.name, app_public_addr: host, 'addr.remote': remote };
        try {
          await d.view.auth.send(StoredAppSessionSchema, 'POST', `/v1/app_sessions/${sessionHash(token)}`, {
            webSession: sessionHash(sessionToken(req) ?? ''),
            app: app.name,
            publicAddr: host,
            stateHash: sha256(b.state),
            id,
          });
        } catch (err) {
          d.view.emit([{ type: 'app.session.start', success: false, via: 'web', ...base, error: describe(err) }]);
          throw err;
        }
        d.view.emit([{ type: 'app.session.start', success: true, via: 'web', ...base }]);
        const frag = new URLSearchParams({ state: b.state, value: token, path });
        return { url: `https://${host}${LAUNCH_PATH}#${frag}` };
      },
    ],
  ];
}
