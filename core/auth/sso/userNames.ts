import { AccessDenied } from '../../errors.ts';
import { validName } from '../../rbac/index.ts';
import type { SsoConnector } from './connectors.ts';

type Oidc = Extract<SsoConnector, { kind: 'oidc' }>;

const RULE = 'lowercase letters, digits, - _ . (at most 63, starting with a letter or digit)';

/**
 * A tp user name from a provider's name for someone: the local part of an e-mail-shaped value, lowercased, and
 * otherwise exactly as given (a value with other characters is refused, never rewritten). Lowercasing may give two
 * provider accounts one name; the subject binding (subjects.ts) refuses the second, so they are never merged.
 */
export function userName(raw: unknown, what: string): string {
  if (typeof raw !== 'string' || !raw)
    throw new AccessDenied(`the provider sent no ${what} to name the user by (set the connector's username claim)`);
  const name = raw.replace(/@.*$/, '').toLowerCase();
  if (!validName(name))
    throw new AccessDenied(
      `the provider's ${what} "${raw}" does not give a valid tp user name (${RULE}); set the connector's username claim to one that does`,
    );
  return name;
}

/** True when the provider says the e-mail address was not verified (some send the flag as a string). */
export function emailUnverified(claims: Record<string, unknown>): boolean {
  return claims.email_verified === false || claims.email_verified === 'false';
}

/**
 * The tp user name an OIDC login asks for: the connector's username claim, else preferred_username, else a
 * verified e-mail, else the subject. An e-mail the provider marks unverified never names a user.
 */
export function oidcUserName(c: Oidc, claims: Record<string, unknown>): string {
  const given = (claim: string) => typeof claims[claim] === 'string' && claims[claim] !== '';
  if (c.usernameClaim) {
    if (c.usernameClaim === 'email' && emailUnverified(claims))
      throw new AccessDenied(
        `the provider marks the e-mail "${String(claims.email)}" as not verified; an unverified e-mail never names a tp user`,
      );
    return userName(claims[c.usernameClaim], `"${c.usernameClaim}" claim`);
  }
  if (given('preferred_username')) return userName(claims.preferred_username, '"preferred_username" claim');
  if (given('email') && !emailUnverified(claims)) return userName(claims.email, '"email" claim');
  return userName(claims.sub, '"sub" claim');
}
