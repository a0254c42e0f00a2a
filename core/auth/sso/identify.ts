import { AccessDenied } from '../../errors.ts';
import type { SsoConnector } from './connectors.ts';
import type { CodeExchange } from './provider.ts';
import { providerFor } from './providers.ts';
import type { SsoSubject } from './subjects.ts';

/** What the provider said and what tp made of it. */
export interface SsoOutcome {
  username: string;
  roles: string[];
  /** The claims (OIDC) or login and teams (GitHub) the mapping looked at. */
  identity: Record<string, unknown>;
  /** The provider account, which the user is bound to. */
  subject: SsoSubject;
}

/**
 * Exchanges the provider's code and turns the answer into a tp user name, its provider account and the roles
 * the connector's mapping gives. Throws AccessDenied when the provider's answer is not usable or maps to no role.
 */
export async function identify(c: SsoConnector, x: CodeExchange): Promise<SsoOutcome> {
  const provider = providerFor(c);
  const { username, identity, subject } = await provider.identify(x);
  const roles = provider.rolesFor(identity);
  if (!roles.length)
    throw new AccessDenied(
      `"${username}" may not log in: ${provider.unmapped(identity)} map to a role of connector "${c.name}"`,
    );
  return { username, roles, identity, subject };
}
