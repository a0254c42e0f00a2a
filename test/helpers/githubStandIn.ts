import { createHash, randomBytes } from 'node:crypto';

/** A loopback stand-in for GitHub's OAuth2 endpoints and the `/user` and `/user/teams` API (Enterprise paths). */
export interface GitHubStandIn extends AsyncDisposable {
  url: string;
  /** Token requests it answered, for checks (e.g. that PKCE was sent). */
  tokenRequests: URLSearchParams[];
  /** Adds or replaces a login (e.g. another account taking over a renamed login, with a new id). */
  setUser(login: string, u: { teams: string[]; id?: number }): void;
  close(): Promise<void>;
}

/**
 * Starts the stand-in. Its authorize page asks which login signs in (a form, so a browser drives it); codes are
 * single-use, bound to the client, the redirect URI and the PKCE challenge, as GitHub's are.
 */
export function startGitHubStandIn(o: {
  clientId: string;
  clientSecret: string;
  /** Each login's teams, and its numeric id (default: one derived from the login). */
  users: Record<string, { teams: string[]; id?: number }>;
}): GitHubStandIn {
  const codes = new Map<string, { login: string; redirectUri: string; challenge: string }>();
  const tokens = new Map<string, string>();
  const tokenRequests: URLSearchParams[] = [];
  const html = (body: string, status = 200) =>
    new Response(`<!doctype html><html><body>${body}</body></html>`, {
      status,
      headers: { 'content-type': 'text/html' },
    });
  const json = (body: unknown, status = 200) => Response.json(body, { status });
  const idOf = (login: string) => Number.parseInt(createHash('sha256').update(login).digest('hex').slice(0, 8), 16);
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === '/') return html('GitHub stand-in');
      if (url.pathname === '/login/oauth/authorize' && req.method === 'GET') {
        const q = url.searchParams;
        if (q.get('client_id') !== o.clientId) return html('unknown client', 400);
        if (q.get('code_challenge_method') !== 'S256') return html('PKCE S256 required', 400);
        const hidden = ['redirect_uri', 'state', 'code_challenge']
          .map((k) => `<input type="hidden" name="${k}" value="${q.get(k) ?? ''}">`)
          .join('');
        return html(
          `<h1>Authorize tp</h1><form method="post" action="/login/oauth/authorize">${hidden}<label>Login <input name="login"></label><button type="submit">Authorize</button></form>`,
        );
      }
      if (url.pathname === '/login/oauth/authorize' && req.method === 'POST') {
        const f = new URLSearchParams(await req.text());
        const code = randomBytes(10).toString('hex');
        codes.set(code, {
          login: f.get('login') ?? '',
          redirectUri: f.get('redirect_uri') ?? '',
          challenge: f.get('code_challenge') ?? '',
        });
        const to = new URL(f.get('redirect_uri') ?? '');
        to.searchParams.set('code', code);
        to.searchParams.set('state', f.get('state') ?? '');
        return new Response(null, { status: 302, headers: { location: to.toString() } });
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const f = new URLSearchParams(await req.text());
        tokenRequests.push(f);
        const c = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        const verifier = f.get('code_verifier') ?? '';
        if (
          !c ||
          f.get('client_id') !== o.clientId ||
          f.get('client_secret') !== o.clientSecret ||
          f.get('redirect_uri') !== c.redirectUri ||
          createHash('sha256').update(verifier).digest('base64url') !== c.challenge
        )
          return json({
            error: 'bad_verification_code',
            error_description: 'The code passed is incorrect or expired.',
          });
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, c.login);
        return json({ access_token: token, token_type: 'bearer', scope: 'read:org' });
      }
      const login = tokens.get((req.headers.get('authorization') ?? '').replace(/^Bearer /, ''));
      if (url.pathname.startsWith('/api/v3/') && !login) return json({ message: 'Bad credentials' }, 401);
      if (url.pathname === '/api/v3/user')
        return json({ login, id: o.users[login!]?.id ?? idOf(login!), email: `${login}@example.test` });
      if (url.pathname === '/api/v3/user/teams')
        return json(
          (o.users[login!]?.teams ?? []).map((t) => ({
            slug: t.split('/')[1],
            organization: { login: t.split('/')[0] },
          })),
        );
      return json({ message: 'Not Found' }, 404);
    },
  });
  const close = async () => {
    server.stop(true);
  };
  const setUser = (login: string, u: { teams: string[]; id?: number }) => {
    o.users[login] = u;
  };
  return { url: `http://127.0.0.1:${server.port}`, tokenRequests, setUser, close, [Symbol.asyncDispose]: close };
}
