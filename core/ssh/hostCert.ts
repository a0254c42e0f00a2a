import { parseCert, verifyCert } from '../crypto/sshcert.ts';

/**
 * Returns an ssh2 `hostVerifier` that accepts only a host certificate from one of `cas`, valid now, naming
 * `principal` (the node's host ID, name or address). The reason for a refusal lands in `onReject`.
 */
export function hostCertVerifier(
  cas: Buffer[],
  principal: string,
  now: () => number,
  onReject: (reason: string) => void,
): (key: Buffer) => boolean {
  return (key: Buffer) => {
    try {
      verifyCert(parseCert(key), { cas, certType: 'host', now: now() / 1000, principal });
      return true;
    } catch (err) {
      onReject(`host ${principal}: ${(err as Error).message}`);
      return false;
    }
  };
}
