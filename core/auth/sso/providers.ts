import type { SsoConnector } from './connectors.ts';
import { githubProvider } from './github.ts';
import { oidcProvider } from './oidc.ts';
import type { SsoProvider } from './provider.ts';

/** The provider of a connector's kind, bound to that connector. */
export function providerFor(c: SsoConnector): SsoProvider {
  switch (c.kind) {
    case 'github':
      return githubProvider(c);
    case 'oidc':
      return oidcProvider(c);
  }
}
