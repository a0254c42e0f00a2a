import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { ApiClient } from '../core/api/client.ts';
import { ReissuedCertsSchema } from '../core/api/hostSchemas.ts';
import { RotationStatusSchema } from '../core/api/rotationSchemas.ts';
import { AckSchema } from '../core/api/schemas.ts';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import type { HostIdentity } from '../core/identity/hostIdentity.ts';
import { startTestAuth, type TestAuth } from './helpers/cluster.ts';

let a: TestAuth;
let n1: HostIdentity;
let n2: HostIdentity;
const asHost = (id: HostIdentity) =>
  new ApiClient([a.server.addr], { ca: id.tlsCa.join(''), cert: id.tlsCert, key: id.tlsKey });
const spki = (id: HostIdentity) =>
  new X509Certificate(id.tlsCert).publicKey.export({ type: 'spki', format: 'pem' }) as string;

beforeAll(async () => {
  a = await startTestAuth();
  n1 = await localHostIdentity(a.server.service, 'node', 'n1');
  n2 = await localHostIdentity(a.server.service, 'node', 'n2');
});
afterAll(() => a.close());

describe('host certificate renewal (rotation)', () => {
  test('a node renews its own certificates, keeping its names and keys', async () => {
    const r = await asHost(n1).post(ReissuedCertsSchema, '/v1/certs/reissue', {
      sshCert: n1.sshCert,
      tlsPublicKey: spki(n1),
    });
    expect(r.sshCert!.split(' ')[1]).not.toBe(n1.sshCert.split(' ')[1]);
    expect(new X509Certificate(r.tlsCert).subject).toBe(new X509Certificate(n1.tlsCert).subject);
  });

  test("a node cannot get another node's certificate, nor present a tampered one", async () => {
    const other = asHost(n1).post(AckSchema, '/v1/certs/reissue', { sshCert: n2.sshCert, tlsPublicKey: spki(n1) });
    await expect(other).rejects.toThrow(`belongs to ${n2.hostId}, not to ${n1.hostId}`);
    const [type, blob, comment] = n1.sshCert.split(' ');
    const raw = Buffer.from(blob!, 'base64');
    raw[raw.length - 10]! ^= 1;
    const tampered = `${type} ${raw.toString('base64')} ${comment}`;
    await expect(
      asHost(n1).post(AckSchema, '/v1/certs/reissue', { sshCert: tampered, tlsPublicKey: spki(n1) }),
    ).rejects.toThrow('does not verify');
  });

  test('users, admins and anonymous callers cannot renew host certificates or report rotation', async () => {
    await expect(a.admin.post(AckSchema, '/v1/certs/reissue', { tlsPublicKey: spki(n1) })).rejects.toThrow(
      'only nodes and proxies',
    );
    await expect(a.anonymous.post(AckSchema, '/v1/certs/reissue', { tlsPublicKey: spki(n1) })).rejects.toThrow();
    await expect(
      a.anonymous.post(AckSchema, '/v1/rotation/report', { rotationId: '', phase: 'standby', name: 'x' }),
    ).rejects.toThrow('only nodes and proxies');
    await expect(a.anonymous.get(RotationStatusSchema, '/v1/rotation')).rejects.toThrow();
  });
});
