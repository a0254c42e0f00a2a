import { createHash, randomBytes } from 'node:crypto';
import type { Identity } from '../auth/identity.ts';
import { BadParameter, TpError } from '../errors.ts';
import { escapeHtml } from '../web/html.ts';
import { RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { ClusterView } from './clusterView.ts';
import { UI_HEADERS } from './pages.ts';
import { cookieValue, type IssuedLogin, newWebKeys, sessionCookie, type WebSessionStore } from './webSessions.ts';
import { requestOrigin } from './webUi.ts';

/** Cookie binding a web SSO login to the browser that started it (Lax: it must come back on the provider's redirect). */
const BINDING_COOKIE = '__Host-tp_sso';
const CLEAR_BINDING = `${BINDING_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A small page of our own (the provider's redirect lands here): a message, or a same-site hop into the app. */
function page(
  title: string,
  body: string,
  status = 200,
  headers: Record<string, string | string[]> = {},
  refresh?: string,
) {
  const meta = refresh ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(refresh)}" />` : '';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" />${meta}<title>${escapeHtml(title)}</title><link rel="icon" href="/web/assets/favicon.svg" type="image/svg+xml" /><link rel="stylesheet" href="/web/assets/app.css" /></head><body><main><div class="card center stack"><h1>${escapeHtml(title)}</h1>${body}</div></main></body></html>`;
  return new RawResponse(html, 'text/html; charset=utf-8', { ...UI_HEADERS, ...headers }, status);
}

/** The page a failed sign-in lands on: what went wrong and the way back, with the binding cookie cleared. */
const failed = (message: string) =>
  page(
    'Sign-in failed',
    `<p class="error" role="alert">${escapeHtml(message)}</p><p><a href="/web/login">Back to the login page</a></p>`,
    403,
    { 'set-cookie': CLEAR_BINDING },
  );

/** Settings of the SSO routes. */
export interface SsoRouteOptions {
  view: ClusterView;
  sessions: WebSessionStore;
  /** The proxy's public address (the callback the provider knows, for command-line logins). */
  publicAddr: () => string;
  sessionTtlMs: number;
}

/**
 * Single sign-on on the proxy: the login page's buttons, the start of a login (from the web UI, or from `tp login
 * --auth` with a loopback redirect), the provider's callback, and collection of a finished command-line login.
 * Auth keeps the state, PKCE verifier, nonce and a web login's key, so the callback may land on any proxy.
 */
export function ssoRoutes(o: SsoRouteOptions): Route<Identity>[] {
  const auth = o.view.auth;
  const callbackFor = (origin: string) => `${origin}/webapi/sso/callback`;

  return [
    ['GET', /^\/webapi\/sso\/connectors$/, async () => auth.get('/v1/sso/choices')],
    [
      'POST',
      /^\/webapi\/sso\/login$/,
      async ({ body }) => {
        const b = body as { mode?: string };
        if (b?.mode !== 'cli' && b?.mode !== 'test') throw new BadParameter('mode must be cli or test');
        return auth.post('/v1/sso/begin', { ...b, redirectUri: callbackFor(`https://${o.publicAddr()}`) });
      },
    ],
    ['POST', /^\/webapi\/sso\/result$/, async ({ body }) => auth.post('/v1/sso/redeem', body)],
    [
      'GET',
      /^\/webapi\/sso\/web\/([a-z0-9][a-z0-9_.-]{0,62})$/,
      async ({ req, params }) => {
        const keys = newWebKeys();
        const binding = randomBytes(24).toString('base64url');
        const r = await auth.post<{ id: string; url: string }>('/v1/sso/begin', {
          connector: params[0],
          mode: 'web',
          redirectUri: callbackFor(requestOrigin(req)),
          sshPublicKey: keys.sshPublicKey,
          tlsPublicKey: keys.tlsPublicKey,
          ttlMs: o.sessionTtlMs,
          bindingHash: sha256(binding),
          webKey: keys.sshKey,
        });
        return new RawResponse(
          '',
          'text/plain',
          {
            location: r.url,
            'set-cookie': `${BINDING_COOKIE}=${binding}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`,
          },
          302,
        );
      },
    ],
    [
      'GET',
      /^\/webapi\/sso\/callback$/,
      async ({ req, query }) => {
        type Result =
          | { ok: true; id: string; mode: string; clientRedirect?: string; certs?: IssuedLogin; webKey?: string }
          | { ok: false; id?: string; mode?: string; clientRedirect?: string; error: { message: string } };
        let r: Result;
        try {
          r = await auth.post('/v1/sso/callback', {
            state: query.get('state') ?? '',
            code: query.get('code') ?? undefined,
            error: query.get('error') ?? undefined,
            errorDescription: query.get('error_description') ?? undefined,
            binding: cookieValue(req, BINDING_COOKIE),
          });
        } catch (err) {
          return failed(err instanceof TpError ? err.message : 'the sign-in could not be completed');
        }
        if (r.mode !== 'web' && r.clientRedirect) {
          const to = new URL(r.clientRedirect);
          if (r.ok) to.searchParams.set('id', r.id);
          else to.searchParams.set('error', r.error.message);
          return new RawResponse('', 'text/plain', { location: to.toString() }, 302);
        }
        if (!r.ok || !r.webKey || !r.certs) {
          return failed(r.ok ? 'this sign-in could not be completed; start it again' : r.error.message);
        }
        const { token, session } = await o.sessions.create(r.certs, r.webKey);
        // A page of ours hops into the app, so the Strict session cookie is sent (a redirect chain that began on
        // the provider's site would not send it).
        return page(
          'Signed in',
          '<p><a href="/web/nodes">Continue</a></p>',
          200,
          { 'set-cookie': [sessionCookie(token, session.expires - Date.now()), CLEAR_BINDING] },
          '/web/nodes',
        );
      },
    ],
  ];
}
