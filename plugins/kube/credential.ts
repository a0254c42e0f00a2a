// The answer `tp kube credentials` gives kubectl: an ExecCredential holding the user's TLS client certificate and
// key, valid until the certificate ends (kubectl asks again after that). Kept free of heavy imports: kubectl starts
// tp once per command, and 20 parallel kubectl runs start it 20 times.
import { X509Certificate } from 'node:crypto';

/** The exec credential API version tp's kubeconfig entries ask kubectl for, and `tp kube credentials` answers in. */
export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

/** When a PEM certificate stops being valid (epoch ms). */
export function certificateExpiry(certPem: string): number {
  return new X509Certificate(certPem).validToDate.getTime();
}

/** RFC 3339 in whole seconds, as Kubernetes writes times (`metav1.Time`). */
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The ExecCredential JSON (one line) that hands kubectl `certPem` and `keyPem` until `expires` (epoch ms). */
export function execCredential(certPem: string, keyPem: string, expires: number): string {
  return JSON.stringify({
    apiVersion: EXEC_API_VERSION,
    kind: 'ExecCredential',
    status: {
      expirationTimestamp: rfc3339(expires),
      clientCertificateData: certPem,
      clientKeyData: keyPem,
    },
  });
}

/** Whether kubectl says the user is at a terminal it hands to tp (KUBERNETES_EXEC_INFO `spec.interactive`). */
export function kubectlInteractive(execInfo: string | undefined): boolean {
  if (!execInfo) return false;
  try {
    const info = JSON.parse(execInfo) as { spec?: { interactive?: unknown } };
    return info.spec?.interactive === true;
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
}
