// An operator's own certificate for web app hosts (`proxy.apps_cert_file` / `apps_key_file`, e.g. a public CA's
// `*.apps.example.com`): served, per TLS server name, to the names it covers; the proxy's own name keeps the
// cluster certificate. Client certificates are still verified against the cluster's TLS CA.

import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { BadParameter, describe } from '../errors.ts';

/** A PEM certificate (chain) and its key. */
export interface AppsCert {
  cert: string;
  key: string;
}

/**
 * The TLS server's SNICallback: the operator's certificate for names it covers (other than `ownHost()`), else the
 * default. `ca()` is the cluster's current TLS CA (it changes with a rotation).
 */
export function appsCertSni(
  given: AppsCert,
  ownHost: () => string,
  ca: () => string[],
): (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(given.cert);
  } catch (err) {
    throw new BadParameter(`proxy.apps_cert_file is not a PEM certificate: ${describe(err)}`);
  }
  let made: { ca: string[]; ctx: SecureContext } | undefined;
  const context = () => {
    const now = ca();
    if (made?.ca !== now) made = { ca: now, ctx: createSecureContext({ cert: given.cert, key: given.key, ca: now }) };
    return made.ctx;
  };
  context();
  return (name, cb) => {
    const lower = name.toLowerCase();
    cb(null, lower !== ownHost().toLowerCase() && x509.checkHost(lower) ? context() : undefined);
  };
}
