import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign } from 'node:crypto';
import './reflectPolyfill.ts'; // see there: bundles
import 'reflect-metadata'; // bun cmd/tp.ts
import * as x509 from '@peculiar/x509';
import { BadParameter } from '../errors.ts';
import { IDENTITY_OID, type TlsIdentityExt } from './certTypes.ts';
import * as der from './der.ts';
import { CLOCK_SKEW_MS } from './skew.ts';

// Reading certificates lives in certRead.ts (no @peculiar/x509); re-exported for the issuers that import it here.
export { parseTlsCert, verifyTlsCert } from './certRead.ts';
export { type BotCertInfo, IDENTITY_OID, type ParsedTlsCert, type TlsIdentityExt } from './certTypes.ts';

x509.cryptoProvider.set(globalThis.crypto);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A CA as PEM text: certificate and PKCS#8 private key. */
export interface TlsKeyPair {
  cert: string;
  key: string;
}

/** What a leaf certificate says about its holder. */
export interface TlsSubject {
  commonName: string;
  organization?: string[];
  /** tp's identity extension; absent on certificates for other software (database servers and clients). */
  identity?: TlsIdentityExt;
}

function nameOf(cn: string, orgs: string[] = []): x509.JsonName {
  const name: x509.JsonName = [{ CN: [cn] }];
  for (const o of orgs) name.push({ O: [o] });
  return name;
}

/** What leaf issuance needs from a CA, computed once per CA certificate. */
interface CaForLeaves {
  issuer: Buffer;
  aki: Buffer;
  key: KeyObject;
}
const caInfo = new Map<string, Promise<CaForLeaves>>();

/** Parses a CA once: its subject (raw DER, the leaves' issuer), its key identifier extension, its signing key. */
function caDetails(ca: TlsKeyPair): Promise<CaForLeaves> {
  let info = caInfo.get(ca.cert);
  if (!info) {
    const cert = new x509.X509Certificate(ca.cert);
    info = x509.AuthorityKeyIdentifierExtension.create(cert.publicKey).then((aki) => ({
      issuer: Buffer.from(cert.subjectName.toArrayBuffer()),
      aki: Buffer.from(aki.rawData),
      key: createPrivateKey(ca.key),
    }));
    caInfo.set(ca.cert, info);
  }
  return info;
}

const serial = () => {
  // Platform CSPRNG on purpose, not an IdSource: certificate serials must be unpredictable (64+ random bits).
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString('hex');
};

/**
 * Makes a self-signed ECDSA P-256 CA for `clusterName` (subject CN=`commonName`, O=`clusterName`), valid from `now`
 * for `years`. CAs of one cluster get distinct common names, so no verifier can mistake one for another by name.
 */
export async function createTlsCA(
  clusterName: string,
  now: number,
  years = 10,
  commonName = clusterName,
): Promise<TlsKeyPair> {
  const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: nameOf(commonName, [clusterName]),
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + years * 365 * 86_400_000),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** Parameters of a leaf certificate. */
export interface LeafSpec {
  ca: TlsKeyPair;
  /** The holder's public key (made by the holder; its private key never reaches tp's CA). */
  publicKey: KeyObject | string;
  subject: TlsSubject;
  now: number;
  ttlMs: number;
  /** Server names and IPs the certificate is good for (server certs). */
  dnsNames?: string[];
  ips?: string[];
  usage: 'client' | 'server' | 'both';
}

/** Issues a leaf certificate signed by the CA; returns PEM. */
export async function issueTlsCert(spec: LeafSpec): Promise<string> {
  const ca = await caDetails(spec.ca);
  const pub = typeof spec.publicKey === 'string' ? createPublicKey(spec.publicKey) : spec.publicKey;
  if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BadParameter('TLS public key must be ECDSA P-256');
  }
  // Leaves are encoded directly (RFC 5280) and signed with node:crypto: building them with @peculiar/x509 spent
  // ~3 ms each in asn1js (330/s measured), which capped logins and joins. The CA, parsing and verification stay
  // with the library, and openssl/curl/every mTLS hop in the test suite check what this produces.
  const eku = [
    ...(spec.usage !== 'server' ? [der.oid(OID.clientAuth)] : []),
    ...(spec.usage !== 'client' ? [der.oid(OID.serverAuth)] : []),
  ];
  const sans = [
    ...(spec.dnsNames ?? []).map((n) => der.implicit(2, Buffer.from(n, 'latin1'))),
    ...(spec.ips ?? []).map((ip) => der.implicit(7, der.ipBytes(ip))),
  ];
  const ext = (id: string, critical: boolean, value: Buffer) =>
    der.seq(der.oid(id), ...(critical ? [der.bool(true)] : []), der.octets(value));
  const extensions = [
    ext(OID.basicConstraints, true, der.seq()),
    ext(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x05, 0xa0])), // digitalSignature | keyEncipherment
    ext(OID.extKeyUsage, false, der.seq(...eku)),
    ca.aki,
    ...(spec.subject.identity ? [ext(IDENTITY_OID, false, der.utf8(JSON.stringify(spec.subject.identity)))] : []),
    ...(sans.length ? [ext(OID.subjectAltName, false, der.seq(...sans))] : []),
  ];
  const subject = der.seq(
    der.set(der.seq(der.oid(OID.commonName), der.utf8(spec.subject.commonName))),
    ...(spec.subject.organization ?? []).map((o) => der.set(der.seq(der.oid(OID.organization), der.utf8(o)))),
  );
  const algorithm = der.seq(der.oid(OID.ecdsaWithSha256));
  const tbs = der.seq(
    der.explicit(0, der.uint(Buffer.from([2]))),
    der.uint(Buffer.from(serial(), 'hex')),
    algorithm,
    ca.issuer,
    der.seq(der.time(new Date(spec.now - CLOCK_SKEW_MS)), der.time(new Date(spec.now + spec.ttlMs))),
    subject,
    pub.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.seq(...extensions)),
  );
  const signature = sign('sha256', tbs, ca.key);
  const cert = der.seq(tbs, algorithm, der.bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
};
