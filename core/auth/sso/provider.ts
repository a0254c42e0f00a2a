import type { SsoSubject } from './subjects.ts';

/** The parts of a login request the code exchange needs. */
export interface CodeExchange {
  code: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  now: number;
}

/** What a provider said about the person signing in, before tp maps it to roles. */
export interface ProviderAnswer {
  /** The tp user name derived from the provider's name for the person. */
  username: string;
  /** What the mapping looks at (OIDC claims; GitHub login and teams), also shown on the confirmation page. */
  identity: Record<string, unknown>;
  /** The provider account the user is bound to. */
  subject: SsoSubject;
}

/**
 * One kind of identity provider (GitHub OAuth2, OpenID Connect), bound to one connector: everything SSO does that
 * depends on the kind. A new kind implements this in its own file under sso/ and adds one line to providers.ts.
 */
export interface SsoProvider {
  /** Every role the connector's mapping can give (each must exist when the connector is created). */
  mappedRoleNames(): string[];
  /** The roles the mapping gives `identity`, deduplicated, in mapping order. */
  rolesFor(identity: Record<string, unknown>): string[];
  /** Why `identity` got no role, in words, e.g. `none of the teams [acme/qa]`. */
  unmapped(identity: Record<string, unknown>): string;
  /** The URL that sends the browser to the provider (state and PKCE S256; OIDC also sends the nonce), at `now`. */
  authorizeUrl(p: {
    state: string;
    codeChallenge: string;
    nonce: string;
    redirectUri: string;
    now: number;
  }): Promise<string>;
  /** Exchanges the provider's code and reads who signed in; AccessDenied when the answer is not usable. */
  identify(x: CodeExchange): Promise<ProviderAnswer>;
  /** Checks that the provider is reachable and well-formed; returns what was found, in words. */
  check(): Promise<string>;
}
