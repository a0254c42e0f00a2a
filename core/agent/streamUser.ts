import { forwardedIdentity } from '../auth/identity.ts';
import { Unauthenticated } from '../errors.ts';
import type { VerifiedUser } from '../plugin/types.ts';

/**
 * The user a stream's `cert` names, verified here against the cluster's TLS CAs and the clock (the proxy's word is
 * not taken): only a user's certificate, signed by the cluster and valid now, or an app certificate on a stream to
 * its own app (`to` of kind `app`). Throws Unauthenticated (AccessDenied for an app certificate elsewhere) otherwise.
 */
export function verifyStreamUser(
  certB64: string | undefined,
  tlsCa: string[],
  now: number,
  to?: { kind: string; resource: string },
): VerifiedUser {
  if (!certB64) throw new Unauthenticated('this stream carries no user certificate: connect through the proxy');
  const id = forwardedIdentity(certB64, tlsCa, now, to?.kind === 'app' ? to.resource : undefined);
  if (id.kind !== 'user' && id.kind !== 'app')
    throw new Unauthenticated(`a user certificate is required, not a ${id.kind} certificate`);
  // The identity carries the certificate's end: no second parse of it on every stream.
  const expires = id.expires;
  if (expires === undefined) throw new Unauthenticated('the certificate names no expiry');
  return {
    name: id.name,
    roles: id.roles,
    traits: id.traits ?? {},
    expires,
    certDer: certB64,
    ...(id.bot ? { botInstance: id.bot.instance } : {}),
  };
}
