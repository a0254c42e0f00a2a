import { hostname } from 'node:os';
import { caPin } from '../agent/join.ts';
import { ApiClient } from '../client/apiClient.ts';
import { type HostIdentity, loadHostIdentity, newHostKeys, saveHostIdentity } from '../client/hostIdentity.ts';
import { AccessDenied, BadParameter } from '../errors.ts';
import { log } from '../log.ts';

/**
 * A standalone proxy's identity: loaded from `dataDir`, or made by joining auth directly with a proxy token (the CA
 * checked against `caPin` when given). Returns it with an API client that acts as the proxy.
 */
export async function joinAuthAsProxy(o: {
  dataDir: string;
  servers: string[];
  token?: string;
  caPin?: string;
  names: string[];
}): Promise<{ identity: HostIdentity; auth: ApiClient }> {
  let identity = loadHostIdentity(o.dataDir);
  if (!identity) {
    if (!o.token)
      throw new BadParameter(
        'this proxy has not joined yet: give --token (make one with `tp tokens add --type proxy`)',
      );
    const first = new ApiClient(o.servers, { insecure: true });
    const tls = await first.get<{ tlsCerts: string[] }>('/v1/cas/tls');
    const pins = tls.tlsCerts.map(caPin);
    if (o.caPin && !pins.includes(o.caPin))
      throw new AccessDenied(`the cluster CA does not match --ca-pin (it has ${pins.join(', ')})`);
    if (!o.caPin) log.warn('joining without --ca-pin: trusting the cluster CA on first use', { pin: pins[0] });
    const keys = newHostKeys();
    const api = new ApiClient(o.servers, { ca: tls.tlsCerts.join('') });
    const r = await api.post<{
      hostId: string;
      cluster: string;
      sshCert: string;
      tlsCert: string;
      userCa: string[];
      hostCa: string[];
      tlsCa: string[];
    }>('/v1/join', {
      token: o.token,
      role: 'proxy',
      hostName: hostname(),
      principals: ['localhost', '127.0.0.1', ...o.names],
      sshPublicKey: keys.sshPublicKey,
      tlsPublicKey: keys.tlsPublicKey,
    });
    identity = { ...r, role: 'proxy', sshKey: keys.sshKey, tlsKey: keys.tlsKey };
    saveHostIdentity(o.dataDir, identity);
  }
  return {
    identity,
    auth: new ApiClient(o.servers, { ca: identity.tlsCa.join(''), cert: identity.tlsCert, key: identity.tlsKey }),
  };
}
