import { describe, expect, test } from 'bun:test';
import { execCredential, kubectlInteractive } from './credential.ts';

describe('the ExecCredential tp kube credentials prints', () => {
  test('the certificate and key as PEM, expiring in whole RFC 3339 seconds, in the v1 exec API', () => {
    const text = execCredential('CERT PEM\n', 'KEY PEM\n', Date.UTC(2026, 11, 2, 3, 4, 5, 678));
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: {
        expirationTimestamp: '2026-12-02T03:04:05Z',
        clientCertificateData: 'CERT PEM\n',
        clientKeyData: 'KEY PEM\n',
      },
    });
  });

  test("kubectl's KUBERNETES_EXEC_INFO says interactive only with spec.interactive true", () => {
    const info = (spec: unknown) => JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', spec });
    expect(kubectlInteractive(info({ interactive: true }))).toBe(true);
    expect(kubectlInteractive(info({ interactive: false }))).toBe(false);
    expect(kubectlInteractive(info({ interactive: 'true' }))).toBe(false);
    expect(kubectlInteractive(info(undefined))).toBe(false);
    expect(kubectlInteractive(undefined)).toBe(false);
    expect(kubectlInteractive('{not json')).toBe(false);
  });
});
