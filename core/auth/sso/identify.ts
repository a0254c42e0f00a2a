import { AccessDenied } from '../../errors.ts';
import type { SsoConnector } from './connectors.ts';
import { githubIdentify } from './github.ts';
import { mappedRoles } from './mapping.ts';
import { oidcIdentify } from './oidc.ts';
import type { SsoSubject } from './subjects.ts';
import { oidcUserName, userName } from './userNames.ts';

/** What the provider said and what tp made of it. */
export interface SsoOutcome {
  username: string;
  roles: string[];
  /** The claims (OIDC) or login and teams (GitHub) the mapping looked at. */
  identity: Record<string, unknown>;
  /** The provider account, which the user is bound to. */
  subject: SsoSubject;
}

/** The parts of a login request the code exchange needs. */
export interface CodeExchange {
  code: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  now: number;
}

/**
 * Exchanges the provider's code and turns the answer into a tp user name, its provider account and the roles
 * the connector's mapping gives. Throws AccessDenied when the provider's answer is not usable or maps to no role.
 */
export async function identify(c: SsoConnector, x: CodeExchange): Promise<SsoOutcome> {
  let identity: Record<string, unknown>;
  let username: string;
  let subject: SsoSubject;
  if (c.kind === 'github') {
    const gh = await githubIdentify(c, x);
    identity = { login: gh.login, id: gh.id, email: gh.email, teams: gh.teams };
    username = userName(gh.login, 'login');
    subject = { issuer: c.apiUrl, subject: String(gh.id) };
  } else {
    const claims = (await oidcIdentify(c, x)) as Record<string, unknown>;
    const { iss, sub, email, email_verified, preferred_username, name } = claims;
    if (typeof iss !== 'string' || typeof sub !== 'string' || !sub || sub.length > 255)
      throw new AccessDenied('the ID token names no usable subject ("sub" claim)');
    identity = { iss, sub, email, email_verified, preferred_username, name };
    for (const m of c.claimsToRoles) identity[m.claim] = claims[m.claim];
    if (c.usernameClaim) identity[c.usernameClaim] = claims[c.usernameClaim];
    username = oidcUserName(c, claims);
    subject = { issuer: iss, subject: sub };
  }
  const roles = mappedRoles(c, identity);
  if (!roles.length) {
    const what =
      c.kind === 'github'
        ? `none of the teams [${(identity.teams as string[]).join(', ')}]`
        : `none of the claims (${c.claimsToRoles.map((m) => m.claim).join(', ')})`;
    throw new AccessDenied(`"${username}" may not log in: ${what} map to a role of connector "${c.name}"`);
  }
  return { username, roles, identity, subject };
}
