import { AccessDenied, Unavailable } from '../../errors.ts';
import type { SsoConnector } from './connectors.ts';
import type { SsoProvider } from './provider.ts';
import { userName } from './userNames.ts';

type GitHub = Extract<SsoConnector, { kind: 'github' }>;

/** Who GitHub says the user is: the login, the numeric user id, and the ORG/TEAM slugs of their teams. */
export interface GitHubIdentity {
  login: string;
  /** Stable for the account's life (a login can be renamed, then taken by someone else). */
  id: number;
  email?: string;
  teams: string[];
}

const TIMEOUT_MS = 10_000;

/** The URL that sends the browser to GitHub's OAuth2 authorization page (state and PKCE S256). */
export function githubAuthorizeUrl(
  c: GitHub,
  p: { state: string; codeChallenge: string; redirectUri: string },
): string {
  const u = new URL(`${c.endpointUrl}/login/oauth/authorize`);
  u.search = new URLSearchParams({
    client_id: c.clientId,
    redirect_uri: p.redirectUri,
    scope: 'read:org',
    state: p.state,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
    allow_signup: 'false',
  }).toString();
  return u.toString();
}

async function api<T>(c: GitHub, token: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${c.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new Unavailable(`cannot reach the GitHub API at ${c.apiUrl}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new AccessDenied(`GitHub answered ${res.status} for ${path}`);
  return (await res.json()) as T;
}

/** Exchanges the code for an access token, then reads the user and their teams (paged, up to 1000). */
export async function githubIdentify(
  c: GitHub,
  p: { code: string; codeVerifier: string; redirectUri: string },
): Promise<GitHubIdentity> {
  let body: { access_token?: string; error?: string; error_description?: string };
  try {
    const res = await fetch(`${c.endpointUrl}/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        code: p.code,
        redirect_uri: p.redirectUri,
        code_verifier: p.codeVerifier,
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new Unavailable(`cannot reach GitHub at ${c.endpointUrl}: ${(err as Error).message}`);
  }
  if (!body.access_token)
    throw new AccessDenied(
      `GitHub refused the login code: ${body.error ?? 'no access token'}${body.error_description ? ` (${body.error_description})` : ''}`,
    );
  const user = await api<{ login: string; id: number; email?: string | null }>(c, body.access_token, '/user');
  if (typeof user.login !== 'string' || !Number.isSafeInteger(user.id))
    throw new AccessDenied('GitHub answered /user without a login and a numeric id');
  const teams: string[] = [];
  for (let page = 1; page <= 10; page++) {
    const batch = await api<{ slug: string; organization: { login: string } }[]>(
      c,
      body.access_token,
      `/user/teams?per_page=100&page=${page}`,
    );
    teams.push(...batch.map((t) => `${t.organization.login}/${t.slug}`));
    if (batch.length < 100) break;
  }
  return { login: user.login, id: user.id, email: user.email ?? undefined, teams };
}

/** GitHub as an SSO provider: the user's teams map to roles; the account is bound by its numeric id. */
export function githubProvider(c: GitHub): SsoProvider {
  const teamsOf = (identity: Record<string, unknown>) => identity.teams as string[];
  return {
    mappedRoleNames: () => c.teamsToRoles.flatMap((m) => m.roles),
    rolesFor(identity) {
      const teams = new Set(teamsOf(identity).map((t) => t.toLowerCase()));
      const roles = c.teamsToRoles.filter((m) => teams.has(`${m.org}/${m.team}`.toLowerCase())).flatMap((m) => m.roles);
      return [...new Set(roles)];
    },
    unmapped: (identity) => `none of the teams [${teamsOf(identity).join(', ')}]`,
    authorizeUrl: async (p) => githubAuthorizeUrl(c, p),
    async identify(x) {
      const gh = await githubIdentify(c, x);
      return {
        identity: { login: gh.login, id: gh.id, email: gh.email, teams: gh.teams },
        username: userName(gh.login, 'login'),
        subject: { issuer: c.apiUrl, subject: String(gh.id) },
      };
    },
    async check() {
      const res = await fetch(c.endpointUrl, { signal: AbortSignal.timeout(TIMEOUT_MS) }).catch((err: unknown) => {
        throw new AccessDenied(`cannot reach ${c.endpointUrl}: ${(err as Error).message}`);
      });
      return `${c.endpointUrl} answers (HTTP ${res.status})`;
    },
  };
}
