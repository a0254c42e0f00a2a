import { parseCert, verifyCert } from '../crypto/sshcert.ts';

/**
 * Returns an ssh2 `hostVerifier` that accepts only a host certificate from one of `cas`, valid now, naming one of
 * `principals` (the node's host ID, name or address). The reason for a refusal lands in `onReject`.
 */
export function hostCertVerifier(
  cas: Buffer[],
  principals: string | string[],
  now: () => number,
  onReject: (reason: string) => void,
): (key: Buffer) => boolean {
  const names = Array.isArray(principals) ? principals : [principals];
  return (key: Buffer) => {
    let cert: ReturnType<typeof parseCert>;
    try {
      cert = verifyCert(parseCert(key), { cas, certType: 'host', now: now() / 1000 });
    } catch (err) {
      onReject(`host ${names[0]}: ${(err as Error).message}`);
      return false;
    }
    if (!names.some((n) => cert.principals.includes(n))) {
      onReject(
        `host ${names[0]}: "${names.join('" or "')}" is not a principal of its certificate (has: ${cert.principals.join(', ')})`,
      );
      return false;
    }
    return true;
  };
}
