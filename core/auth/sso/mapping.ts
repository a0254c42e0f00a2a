import { AccessDenied, BadParameter } from '../../errors.ts';
import { validName } from '../../rbac/index.ts';
import type { SsoConnector } from './connectors.ts';

/**
 * A loopback http URL (where `tp` listens for the browser: 127.0.0.1, [::1] or localhost, no user name, no
 * fragment), or BadParameter. Anywhere else, the login's answer would leave the machine of the person signing in.
 */
export function checkLoopback(url: string | undefined): string {
  const u = url ? URL.parse(url) : null;
  if (
    u?.protocol !== 'http:' ||
    !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(u.hostname) ||
    u.username ||
    u.password ||
    u.hash
  )
    throw new BadParameter(
      'the client redirect must be an http URL on a loopback address (http://127.0.0.1:PORT/..., http://[::1]:PORT/... or http://localhost:PORT/...)',
    );
  return url!;
}

/** The roles a connector's mapping gives an identity (deduplicated, in mapping order). */
export function mappedRoles(c: SsoConnector, identity: Record<string, unknown>): string[] {
  const roles: string[] = [];
  if (c.kind === 'github') {
    const teams = new Set((identity.teams as string[]).map((t) => t.toLowerCase()));
    for (const m of c.teamsToRoles) if (teams.has(`${m.org}/${m.team}`.toLowerCase())) roles.push(...m.roles);
  } else {
    for (const m of c.claimsToRoles) {
      const v = identity[m.claim];
      if (v === m.value || (Array.isArray(v) && v.includes(m.value))) roles.push(...m.roles);
    }
  }
  return [...new Set(roles)];
}

/** A tp user name from a provider's name for someone: lowercased, the domain of an e-mail dropped. */
export function userName(raw: unknown, what: string): string {
  const name = String(raw ?? '')
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/[^a-z0-9_.-]/g, '-');
  if (!validName(name)) throw new AccessDenied(`the provider's ${what} "${String(raw)}" is not a usable user name`);
  return name;
}
