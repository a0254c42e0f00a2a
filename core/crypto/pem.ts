/**
 * The certificates of a PEM bundle, one string each. TLS stacks should get CA lists as arrays: Bun resolves a
 * concatenated bundle whose CAs share a subject (old and new CA during a rotation) to the first one only.
 */
export function pemList(bundle: string | string[]): string[] {
  if (Array.isArray(bundle)) return bundle;
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/**
 * One PEM bundle of `certs`, each ending in a newline: OpenSSL (psql's ssl_ca_file, MariaDB's ssl-ca, curl) refuses a
 * file where one `-----END CERTIFICATE-----` runs into the next `-----BEGIN`, and stored CA certificates lack it.
 */
export function pemBundle(certs: string[]): string {
  return certs.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
}
