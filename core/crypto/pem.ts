/**
 * The certificates of a PEM bundle, one string each. TLS stacks should get CA lists as arrays: Bun resolves a
 * concatenated bundle whose CAs share a subject (old and new CA during a rotation) to the first one only.
 */
export function pemList(bundle: string | string[]): string[] {
  if (Array.isArray(bundle)) return bundle;
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
