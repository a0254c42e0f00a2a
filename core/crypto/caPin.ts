import { createHash, X509Certificate } from 'node:crypto';
import { AccessDenied } from '../errors.ts';
import { log } from '../log.ts';

/** The pin of a CA certificate: `sha256:` + hex SHA-256 of its SubjectPublicKeyInfo (what `tp tokens add` prints). */
export function caPin(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * On first contact: throws AccessDenied unless one of the offered CAs has the expected pin; with no pin, trusts on
 * first use and logs the pin so an operator can check it.
 */
export function checkCaPin(tlsCa: string[], expected: string | undefined, what: string): void {
  const pins = tlsCa.map(caPin);
  if (expected === undefined) {
    log.warn('joining without --ca-pin: trusting the cluster CA on first use', { pin: pins[0] });
    return;
  }
  if (!pins.includes(expected)) throw new AccessDenied(`${what} does not match --ca-pin (it has ${pins.join(', ')})`);
}
