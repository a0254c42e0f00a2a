// Reading tp's certificates: holder, validity and tp's identity extension from the DER, and chain checks, on the
// platform's X.509 (node:crypto) and derRead.ts. Agents and proxies read certificates on every stream; neither
// needs the issuing library (x509.ts) loaded for it.
import { X509Certificate } from 'node:crypto';
import { BadParameter } from '../errors.ts';
import { IDENTITY_OID, type ParsedTlsCert, type TlsIdentityExt } from './certTypes.ts';
import { children, oidText, readTlv, stringText, type Tlv, timeOf } from './derRead.ts';

const CN = '2.5.4.3';
const O = '2.5.4.10';

/** A PEM text's first certificate, or DER bytes, as DER. */
function derOf(cert: string | Uint8Array): Buffer {
  if (typeof cert !== 'string') return Buffer.from(cert);
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(cert);
  if (!m) throw new BadParameter('not a PEM certificate');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** The values of one attribute type in a Name, in order. */
function nameValues(name: Tlv, oid: string): string[] {
  const out: string[] = [];
  for (const rdn of children(name.body))
    for (const atv of children(rdn.body)) {
      const [type, value] = children(atv.body);
      if (type && value && oidText(type.body) === oid) out.push(stringText(value));
    }
  return out;
}

/** tp's identity extension, when the certificate carries one. */
function identityExt(extensions: Tlv | undefined): TlsIdentityExt | undefined {
  if (!extensions) return undefined;
  const list = readTlv(extensions.body); // [3] EXPLICIT SEQUENCE OF Extension
  for (const ext of children(list.body)) {
    const parts = children(ext.body);
    if (oidText(parts[0]!.body) !== IDENTITY_OID) continue;
    const value = parts.at(-1)!; // OCTET STRING (after an optional critical BOOLEAN)
    const inner = readTlv(value.body);
    if (inner.tag !== 0x0c) throw new BadParameter('identity extension is not a UTF8String');
    return JSON.parse(inner.body.toString('utf8')) as TlsIdentityExt;
  }
  return undefined;
}

/** Reads subject, validity and tp identity from a PEM or DER certificate. */
export function parseTlsCert(cert: string | Uint8Array): ParsedTlsCert {
  const der = derOf(cert);
  const tbs = children(readTlv(readTlv(der).body).body);
  // TBSCertificate: [0] version?, serial, signature algorithm, issuer, validity, subject, key, [1]? [2]? [3] extensions
  const fields = tbs[0]?.tag === 0xa0 ? tbs.slice(1) : tbs;
  const [serial, , , validity, subject] = fields;
  if (!serial || !validity || !subject) throw new BadParameter('certificate: missing fields');
  const [notBefore, notAfter] = children(validity.body);
  return {
    commonName: nameValues(subject, CN)[0] ?? '',
    organization: nameValues(subject, O),
    identity: identityExt(fields.find((f) => f.tag === 0xa3)) ?? { kind: 'user' },
    notBefore: timeOf(notBefore!),
    notAfter: timeOf(notAfter!),
    serial: serial.body.toString('hex'),
  };
}

/** True only if `cert` was signed by one of the CA certificates and is within its validity window at `now`. */
export async function verifyTlsCert(cert: string, caCerts: string[], now: number): Promise<boolean> {
  const leaf = new X509Certificate(derOf(cert));
  const { notBefore, notAfter } = parseTlsCert(cert);
  if (now < notBefore.getTime() || now > notAfter.getTime()) return false;
  return caCerts.some((pem) => leaf.verify(new X509Certificate(derOf(pem)).publicKey));
}
