import { BadParameter } from '../../errors.ts';
import type { SsoConnector } from './connectors.ts';
import { providerFor } from './providers.ts';

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
  return providerFor(c).rolesFor(identity);
}
