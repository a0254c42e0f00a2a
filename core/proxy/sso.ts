import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type * as v from 'valibot';
import { AckSchema } from '../api/schemas.ts';
import { SsoBeginSchema, SsoCallbackSchema, SsoConfirmSchema } from '../api/ssoSchemas.ts';
import { SsoChoicesSchema } from '../api/webSchemas.ts';
import type { Identity } from '../auth/identity.ts';
import type { SsoConfirmation } from '../auth/sso/loginRequest.ts';
import { AccessDenied, BadParameter, TpError } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { escapeHtml } from '../web/html.ts';
import { RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { ClusterView } from './clusterView.ts';
import { UI_HEADERS } from './pages.ts';
import { cookieValue, newWebKeys, sessionCookie, type WebSessionStore } from './webSessions.ts';
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

/**
 * The page a command-line login stops at after the provider: who signed in, which cluster, and which client will
 * receive the certificates, with a button. The answer goes to the client only when the person presses it (a POST
 * carrying the login's own token), so a sign-in link someone else started does not complete by being opened.
 */
function confirmationPage(c: SsoConfirmation): RawResponse {
  const client = new URL(c.clientRedirect);
  const q = `id=${encodeURIComponent(c.id)}&token=${encodeURIComponent(c.token)}`;
  const e = escapeHtml;
  const asks =
    c.mode === 'cli'
      ? `<p>The <b>tp command-line client</b> waiting on <b>this computer</b> at <code>${e(client.origin)}</code> asks for certificates to cluster <b>${e(c.cluster)}</b> as this user.</p>`
      : `<p><b>tp sso test</b> on <b>this computer</b> (waiting at <code>${e(client.origin)}</code>) asks to see what the provider said about you for cluster <b>${e(c.cluster)}</b>. Nothing is created and no certificate is issued.</p>`;
  const body = [
    `<p>You signed in through <b>${e(c.connector)}</b> as <b data-testid="sso-user">${e(c.username)}</b> (roles: ${e(c.roles.join(', '))}).</p>`,
    asks,
    `<p class="error" role="alert">Continue only if you started this yourself, just now, on this computer (<code>tp login --auth ${e(c.connector)}</code>). If someone sent you this link, cancel.</p>`,
    `<form method="post" action="/webapi/sso/confirm?${e(q)}"><button type="submit">Continue to the tp client</button></form>`,
    `<form method="post" action="/webapi/sso/cancel?${e(q)}"><button type="submit" class="secondary">Cancel</button></form>`,
  ].join('');
  return page(`Sign in to ${c.cluster} from the command line?`, body, 200, {
    // The button's POST is answered with a redirect to the client's listener: the form may go there, and only
    // there. Same-origin referrers let the browser name our origin on the POST (no-referrer would send "null").
    'content-security-policy': UI_HEADERS['content-security-policy'].replace(
      "form-action 'self'",
      `form-action 'self' ${client.origin}`,
    ),
    'referrer-policy': 'same-origin',
  });
}

/** Throws AccessDenied unless the browser says the request comes from a page of this proxy (the confirmation page). */
function confirmedHere(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined || origin !== requestOrigin(req))
    throw new AccessDenied('this confirmation must come from the sign-in page of this proxy; start the login again');
}

/** Settings of the SSO routes. */
export interface SsoRouteOptions {
  view: ClusterView;
  sessions: WebSessionStore;
  /** The proxy's public address (the callback the provider knows, for command-line logins). */
  publicAddr: () => string;
  sessionTtlMs: number;
  /** Makes the browser binding secrets. Default the platform's cryptographic randomness. */
  ids?: IdSource;
}

/**
 * Single sign-on on the proxy: the login page's buttons, the start of a login (from the web UI, or from `tp login
 * --auth` with a loopback redirect), the provider's callback, and the confirmation page of a command-line login,
 * whose button sends the browser on to the client's loopback listener with the answer sealed to the client's key.
 * Nothing serves a login's answer to whoever asks. Auth keeps the state, PKCE verifier, nonce and a web login's
 * key, so the callback may land on any proxy.
 */
export function ssoRoutes(o: SsoRouteOptions): Route<Identity>[] {
  const auth = o.view.auth;
  const ids = o.ids ?? cryptoIds;
  const callbackFor = (origin: string) => `${origin}/webapi/sso/callback`;

  return [
    ['GET', /^\/webapi\/sso\/connectors$/, async () => auth.send(SsoChoicesSchema, 'GET', '/v1/sso/choices')],
    [
      'POST',
      /^\/webapi\/sso\/login$/,
      async ({ body }) => {
        const b = body as { mode?: string; secretHash?: unknown };
        if (b?.mode !== 'cli' && b?.mode !== 'test') throw new BadParameter('mode must be cli or test');
        if (b.secretHash !== undefined)
          throw new BadParameter(
            'this tp client is older than the cluster: its SSO login is no longer served (upgrade tp)',
          );
        return auth.send(SsoBeginSchema, 'POST', '/v1/sso/begin', {
          ...b,
          redirectUri: callbackFor(`https://${o.publicAddr()}`),
        });
      },
    ],
    [
      'POST',
      /^\/webapi\/sso\/(confirm|cancel)$/,
      async ({ req, params, query }) => {
        try {
          confirmedHere(req);
          const body = { id: query.get('id') ?? '', token: query.get('token') ?? '' };
          if (params[0] === 'cancel') {
            await auth.send(AckSchema, 'POST', '/v1/sso/cancel', body);
            return page(
              'Sign-in cancelled',
              '<p>Nothing was sent to the command-line client. You can close this tab.</p>',
            );
          }
          const r = await auth.send(SsoConfirmSchema, 'POST', '/v1/sso/confirm', body);
          return new RawResponse('', 'text/plain', { location: r.redirect }, 303);
        } catch (err) {
          if (!(err instanceof TpError)) throw err;
          return failed(err.message);
        }
      },
    ],
    [
      'GET',
      /^\/webapi\/sso\/web\/([a-z0-9][a-z0-9_.-]{0,62})$/,
      async ({ req, params }) => {
        const keys = newWebKeys();
        const binding = ids.bytes(24).toString('base64url');
        const r = await auth.send(SsoBeginSchema, 'POST', '/v1/sso/begin', {
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
        let r: v.InferOutput<typeof SsoCallbackSchema>;
        try {
          r = await auth.send(SsoCallbackSchema, 'POST', '/v1/sso/callback', {
            state: query.get('state') ?? '',
            code: query.get('code') ?? undefined,
            error: query.get('error') ?? undefined,
            errorDescription: query.get('error_description') ?? undefined,
            binding: cookieValue(req, BINDING_COOKIE),
          });
        } catch (err) {
          return failed(err instanceof TpError ? err.message : 'the sign-in could not be completed');
        }
        // A failed command-line login: the sealed reason goes to its client, which shows it and exits.
        if (!r.ok && r.redirect) return new RawResponse('', 'text/plain', { location: r.redirect }, 302);
        if (r.ok && r.mode !== 'web') return confirmationPage(r.confirm);
        if (!r.ok || r.mode !== 'web') {
          return failed(r.ok ? 'this sign-in could not be completed; start it again' : r.error.message);
        }
        const { token, session } = await o.sessions.create(r.certs, r.webKey);
        // A page of ours hops into the app, so the Strict session cookie is sent (a redirect chain that began on
        // the provider's site would not send it).
        return page(
          'Signed in',
          '<p><a href="/web/nodes">Continue</a></p>',
          200,
          { 'set-cookie': [sessionCookie(token, o.sessions.msLeft(session)), CLEAR_BINDING] },
          '/web/nodes',
        );
      },
    ],
  ];
}
