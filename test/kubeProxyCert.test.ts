// The proxy's TLS certificate serves `<name>.kube.<cluster>` (the server name kubectl sends, issue 19) from every
// path that issues one: in-process (tp start), a join with a proxy token, and the renewal a CA rotation makes.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity } from 'node:tls';
import { ApiClient } from '../core/api/client.ts';
import { ReissuedCertsSchema } from '../core/api/hostSchemas.ts';
import { JoinAnswerSchema } from '../core/api/schemas.ts';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import { formatAuthorizedKey, sshPublicBlob } from '../core/crypto/keys.ts';
import { clientKeys, startTestAuth, type TestAuth } from './helpers/cluster.ts';

let a: TestAuth;
beforeAll(async () => {
  a = await startTestAuth();
});
afterAll(() => a.close());

/** Whether a certificate verifies for `name` as a TLS client checks it (undefined error = it does). */
const servesName = (pem: string, name: string): boolean => {
  const x = new X509Certificate(pem);
  return checkServerIdentity(name, { subjectaltname: x.subjectAltName, subject: {} } as never) === undefined;
};

test('a proxy certificate from tp start, a join and a renewal serves <name>.kube.<cluster>; a node certificate does not', async () => {
  const cluster = a.server.service.cluster;
  const local = await localHostIdentity(a.server.service, 'proxy', 'proxy-1', ['127.0.0.1']);
  expect(servesName(local.tlsCert, `k1.kube.${cluster}`)).toBe(true);
  expect(servesName(local.tlsCert, `k1.kube.other.cluster`)).toBe(false);
  // The wildcard covers one label: no deeper name, nor the bare suffix.
  expect(servesName(local.tlsCert, `a.k1.kube.${cluster}`)).toBe(false);
  expect(servesName(local.tlsCert, `kube.${cluster}`)).toBe(false);

  const { token } = await a.client.createToken({ roles: ['proxy'], ttlMs: 60_000 });
  const k = clientKeys();
  const joined = await a.anonymous.post(JoinAnswerSchema, '/v1/join', {
    token,
    role: 'proxy',
    hostName: 'proxy-2',
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
    tlsPublicKey: k.tlsPublicKey,
  });
  expect(servesName(joined.tlsCert, `k1.kube.${cluster}`)).toBe(true);

  const asProxy = new ApiClient([a.server.addr], { ca: local.tlsCa.join(''), cert: local.tlsCert, key: local.tlsKey });
  const spki = new X509Certificate(local.tlsCert).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const renewed = await asProxy.post(ReissuedCertsSchema, '/v1/certs/reissue', {
    sshCert: local.sshCert,
    tlsPublicKey: spki,
  });
  expect(servesName(renewed.tlsCert, `k1.kube.${cluster}`)).toBe(true);
  expect(servesName(renewed.tlsCert, '127.0.0.1')).toBe(true);

  const node = await localHostIdentity(a.server.service, 'node', 'n1');
  expect(new X509Certificate(node.tlsCert).subjectAltName).toBeUndefined();
});
