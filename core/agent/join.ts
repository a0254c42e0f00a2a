import { ApiClient } from '../api/client.ts';
import { JoinAnswerSchema } from '../api/schemas.ts';
import { checkCaPin } from '../crypto/caPin.ts';
import { Unavailable } from '../errors.ts';
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
  let cas: { cluster: string; tlsCa: string[] };
  try {
    // First contact: the proxy's certificate cannot be verified before we know the cluster's CA.
    const res = await fetch(`https://${o.proxy}/webapi/cas`, {
      tls: { rejectUnauthorized: false },
      signal: AbortSignal.timeout(15_000),
    } as RequestInit);
    cas = (await res.json()) as typeof cas;
  } catch (err) {
    throw new Unavailable(`cannot reach the proxy at ${o.proxy}: ${(err as Error).message}`);
  }
  checkCaPin(cas.tlsCa, o.caPin, "the proxy's cluster CA");
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
