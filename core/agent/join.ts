import { ApiClient } from '../api/client.ts';
import { pinnedClusterCas } from '../api/firstContact.ts';
import { JoinAnswerSchema } from '../api/schemas.ts';
import { type HostIdentity, newHostKeys } from '../identity/hostIdentity.ts';

export interface JoinOptions {
  /** The proxy's `host:port`. */
  proxy: string;
  token: string;
  role: 'node' | 'proxy';
  hostName: string;
  /** Extra names/addresses for the host certificates. */
  principals?: string[];
  /** Expected CA pin; without it the CA is trusted on first use (and a warning logged). */
  caPin?: string;
}

/**
 * Joins the cluster through the proxy: learns the cluster CA (checked against `caPin` when given), then presents the
 * join token and fresh public keys over TLS verified by that CA, and returns the host identity to save and pin.
 */
export async function joinViaProxy(o: JoinOptions): Promise<HostIdentity> {
  const cas = await pinnedClusterCas(o.proxy, o.caPin);
  const keys = newHostKeys();
  const api = new ApiClient([o.proxy], { ca: cas.tlsCa, serverRole: 'proxy' });
  const r = await api.send(JoinAnswerSchema, 'POST', '/webapi/join', {
    token: o.token,
    role: o.role,
    hostName: o.hostName,
    principals: o.principals,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
  });
  return {
    hostId: r.hostId,
    cluster: r.cluster,
    role: o.role,
    sshKey: keys.sshKey,
    sshCert: r.sshCert ?? '',
    tlsKey: keys.tlsKey,
    tlsCert: r.tlsCert,
    userCa: r.userCa,
    hostCa: r.hostCa,
    tlsCa: r.tlsCa,
  };
}
