import type { PublicConnector } from '../api/ssoSchemas.ts';
import { NotFound } from '../errors.ts';
import type { Identity } from './identity.ts';
import type { RoleStore } from './roles.ts';
import { type ConnectorStore, publicConnector, type SsoConnector } from './sso/connectors.ts';
import type { SsoOutcome } from './sso/identify.ts';
import { providerFor } from './sso/providers.ts';
import { SsoLoginOps, type SsoLoginOpsDeps } from './ssoLoginOps.ts';

export type { SsoOutcome };

/** What SSO reads and writes: the connectors, and what the login flow needs (see SsoLoginOps). */
export interface SsoOpsDeps extends SsoLoginOpsDeps {
  roles: Pick<RoleStore, 'rolesOf'>;
  connectors: ConnectorStore;
}

/**
 * Single sign-on: connectors (GitHub OAuth2, OpenID Connect) as cluster resources, and the login flow through
 * them (`logins`, see SsoLoginOps).
 */
export class SsoOps {
  readonly logins: SsoLoginOps;
  constructor(private readonly d: SsoOpsDeps) {
    this.logins = new SsoLoginOps(d);
  }

  /** Every connector without its secret (needs `sso` list). */
  async listConnectors(who: Identity): Promise<PublicConnector[]> {
    await this.d.authz.authorize(who, 'sso', 'list');
    return (await this.d.connectors.list()).map(publicConnector);
  }

  /** Names and kinds of the connectors, for login pages (anyone may know which buttons to show). */
  async loginChoices(): Promise<{ name: string; kind: string }[]> {
    return (await this.d.connectors.list()).map((c) => ({ name: c.name, kind: c.kind }));
  }

  /** Stores a new connector after checking that every role its mapping names exists; audited. */
  async createConnector(who: Identity, c: SsoConnector): Promise<PublicConnector> {
    await this.d.authz.authorize(who, 'sso', 'create');
    const wanted = [...new Set(providerFor(c).mappedRoleNames())];
    const known = (await this.d.roles.rolesOf(wanted)).map((r) => r.metadata.name);
    const unknown = wanted.filter((r) => !known.includes(r));
    if (unknown.length)
      throw new NotFound(`unknown role(s) in the mapping: ${unknown.join(', ')} (see \`tp roles ls\`)`);
    await this.d.connectors.create(c);
    await this.d.emit({ type: 'sso.create', user: who.name, target: c.name, kind: c.kind });
    return publicConnector(c);
  }

  /** Removes a connector; its users stay but can no longer log in through it. Audited. */
  async deleteConnector(who: Identity, name: string): Promise<void> {
    await this.d.authz.authorize(who, 'sso', 'delete');
    await this.d.connectors.remove(name);
    await this.d.emit({ type: 'sso.delete', user: who.name, target: name });
  }

  /** Checks that the provider is reachable and well-formed (OIDC: discovery and keys; GitHub: the endpoint). */
  async checkConnector(who: Identity, name: string): Promise<{ ok: true; detail: string }> {
    await this.d.authz.authorize(who, 'sso', 'read');
    const c = await this.d.connectors.get(name);
    return { ok: true, detail: await providerFor(c).check() };
  }
}
