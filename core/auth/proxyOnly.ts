import { AccessDenied, BadParameter } from '../errors.ts';
import type { Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';

const HASH = /^[0-9a-f]{64}$/;

/**
 * Refuses, audited as a failed `auth.attempt` of `action`, anyone but proxies and admins (sessions held for browsers
 * carry private keys or stand for them), and a session name that is not a SHA-256 hex digest.
 */
export async function checkProxySessionCall(
  emit: Emit,
  who: Identity,
  hash: string,
  action: 'web_session' | 'app_session',
): Promise<void> {
  const what = action === 'web_session' ? 'web session' : 'app session';
  if (who.kind !== 'proxy' && who.kind !== 'admin') {
    await emit({ type: 'auth.attempt', success: false, user: who.name, action, error: 'not a proxy' });
    throw new AccessDenied(`${what}s are for proxies`);
  }
  if (!HASH.test(hash))
    throw new BadParameter(`a${action === 'app_session' ? 'n' : ''} ${what} is named by a SHA-256 hex digest`);
}
