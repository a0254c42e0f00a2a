import { describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { generateKeyPair } from '../crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../crypto/x509.ts';
import { appRouteFromCert, issueAppCert } from './appCert.ts';
import type { LoadedCa } from './cas.ts';
import { forwardedIdentity, identityFromCert } from './identity.ts';

const NOW = Date.parse('2026-12-02T00:00:00Z');
const ca = await createTlsCA('test.cluster', NOW - 86_400_000);
const tlsCa = { tls: ca, tlsTrusted: [ca.cert] } as unknown as LoadedCa;
const spki = () => generateKeyPair('p256').publicKey.export({ type: 'spki', format: 'pem' }) as string;
const der = (pem: string) => new X509Certificate(pem).raw;
const b64 = (pem: string) => der(pem).toString('base64');

async function appCert(app = 'grafana', notAfter = NOW + 3_600_000) {
  return issueAppCert({
    tlsCa,
    username: 'alice',
    roles: ['access'],
    traits: { logins: ['alice'] },
    route: { app, publicAddr: `${app}.tp.example.com` },
    tlsPublicKey: spki(),
    notAfter,
    now: NOW,
  });
}

describe('app certificates', () => {
  test('carry the app route, the user, roles and traits, and end at notAfter', async () => {
    const out = await appCert('grafana', NOW + 600_000);
    expect(out.expires).toBe(NOW + 600_000);
    expect(appRouteFromCert(der(out.cert))).toEqual({ app: 'grafana', publicAddr: 'grafana.tp.example.com' });
    const id = identityFromCert(der(out.cert));
    expect(id).toMatchObject({ kind: 'app', name: 'alice', roles: ['access'], traits: { logins: ['alice'] } });
    expect(id.expires).toBe(NOW + 600_000);
    expect(Date.parse(new X509Certificate(out.cert).validTo)).toBe(NOW + 600_000);
  });

  test('a user certificate has no app route', async () => {
    const cert = await issueTlsCert({
      ca,
      publicKey: spki(),
      subject: { commonName: 'alice', organization: ['access'], identity: { kind: 'user', logins: ['alice'] } },
      now: NOW,
      ttlMs: 60_000,
      usage: 'client',
    });
    expect(appRouteFromCert(der(cert))).toBeUndefined();
    expect(identityFromCert(der(cert)).kind).toBe('user');
  });

  test('an app extension without a route names nobody', async () => {
    const cert = await issueTlsCert({
      ca,
      publicKey: spki(),
      subject: { commonName: 'alice', organization: ['access'], identity: { kind: 'app', route: {} } },
      now: NOW,
      ttlMs: 60_000,
      usage: 'client',
    });
    expect(appRouteFromCert(der(cert))).toBeUndefined();
    expect(identityFromCert(der(cert)).kind).toBe('anonymous');
  });

  test('is not issued past its end', async () => {
    await expect(appCert('grafana', NOW)).rejects.toThrow('expired');
  });

  test('forwarded, passes only for its own app', async () => {
    const { cert } = await appCert('grafana');
    expect(forwardedIdentity(b64(cert), [ca.cert], NOW + 1_000, 'grafana')).toMatchObject({
      kind: 'app',
      name: 'alice',
      app: { app: 'grafana' },
    });
    expect(() => forwardedIdentity(b64(cert), [ca.cert], NOW + 1_000, 'billing')).toThrow(
      'this certificate is for app "grafana" only, not for app "billing"',
    );
    // Where no app is served (admin calls, database certificates), it is refused outright.
    expect(() => forwardedIdentity(b64(cert), [ca.cert], NOW + 1_000)).toThrow(
      'this certificate is for app "grafana" only',
    );
  });
});
