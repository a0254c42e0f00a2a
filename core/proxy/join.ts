import { hostname } from 'node:os';
import { AuthClient } from '../api/authClient.ts';
import { ApiClient } from '../api/client.ts';
import { JoinAnswerSchema } from '../api/schemas.ts';
import { checkCaPin } from '../crypto/caPin.ts';
import { BadParameter } from '../errors.ts';
import { type HostIdentity, loadHostIdentity, newHostKeys, saveHostIdentity } from '../identity/hostIdentity.ts';

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
    const tls = await new AuthClient(first).getCa('tls');
    checkCaPin(tls.tlsCerts, o.caPin, 'the cluster CA');
    const keys = newHostKeys();
    const api = new ApiClient(o.servers, { ca: tls.tlsCerts, serverRole: 'auth' });
    const r = await api.send(JoinAnswerSchema, 'POST', '/v1/join', {
      token: o.token,
      role: 'proxy',
      hostName: hostname(),
      principals: ['localhost', '127.0.0.1', ...o.names],
      sshPublicKey: keys.sshPublicKey,
      tlsPublicKey: keys.tlsPublicKey,
    });
    identity = { ...r, sshCert: r.sshCert ?? '', role: 'proxy', sshKey: keys.sshKey, tlsKey: keys.tlsKey };
    saveHostIdentity(o.dataDir, identity);
  }
  return {
    identity,
    auth: new ApiClient(o.servers, { ca: identity.tlsCa, cert: identity.tlsCert, key: identity.tlsKey }),
  };
}
