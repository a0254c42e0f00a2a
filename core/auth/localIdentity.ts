import type { HostIdentity } from '../identity/hostIdentity.ts';
import { newHostKeys } from '../identity/hostIdentity.ts';
import { cryptoIds } from '../ids.ts';
import { issueHostCerts } from './issuer.ts';
import type { AuthService } from './service.ts';

/**
 * Issues a host identity straight from an in-process auth service (all-in-one `tp start`, tests): what a join
 * would return, without a token. `o.hostId` and `o.keys`, when given, are kept (a restart stays the same host).
 */
export async function localHostIdentity(
  svc: AuthService,
  role: 'node' | 'proxy',
  hostName: string,
  principals: string[] = [],
  o: { hostId?: string; keys?: ReturnType<typeof newHostKeys> } = {},
): Promise<HostIdentity> {
  const keys = o.keys ?? newHostKeys();
  const out = await issueHostCerts({
    hostCa: svc.ca('host'),
    tlsCa: svc.ca('tls'),
    cluster: svc.cluster,
    role,
    hostId: o.hostId ?? (svc.deps.ids ?? cryptoIds).uuid(),
    hostName,
    principals,
    serverNames: role === 'proxy' ? [hostName, ...principals] : undefined,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs: 365 * 86_400_000,
    now: svc.deps.clock.now(),
  });
  return {
    hostId: out.hostId,
    cluster: svc.cluster,
    role,
    sshKey: keys.sshKey,
    sshCert: out.sshCert!,
    tlsKey: keys.tlsKey,
    tlsCert: out.tlsCert,
    userCa: svc.cas.public('user').sshKeys,
    hostCa: svc.cas.public('host').sshKeys,
    tlsCa: svc.cas.public('tls').tlsCerts,
  };
}
