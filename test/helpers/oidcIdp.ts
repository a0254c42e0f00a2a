import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A real OpenID Provider (the `oidc-provider` package) on loopback, with its development login pages. */
export interface TestIdp extends AsyncDisposable {
  issuer: string;
  close(): Promise<void>;
}

/**
 * Starts the provider with one confidential client. Any login name signs in (its dev login page takes any
 * password); `groups` says which groups each login is in, and `profiles` overrides a login's other claims (an
 * undefined value leaves the claim out).
 */
export async function startOidcIdp(o: {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  groups: Record<string, string[]>;
  profiles?: Record<string, Record<string, unknown>>;
}): Promise<TestIdp> {
  let handler: ((req: unknown, res: unknown) => void) | undefined;
  const server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: o.clientId,
        client_secret: o.clientSecret,
        redirect_uris: o.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    cookies: { keys: ['test-only-cookie-key'] },
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        async claims() {
          const claims: Record<string, unknown> = {
            sub: id,
            preferred_username: id,
            name: id,
            email: `${id}@example.test`,
            groups: o.groups[id] ?? [],
            ...o.profiles?.[id],
          };
          return { sub: id, ...Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)) };
        },
      };
    },
  });
  handler = provider.callback() as (req: unknown, res: unknown) => void;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { issuer, close, [Symbol.asyncDispose]: close };
}
