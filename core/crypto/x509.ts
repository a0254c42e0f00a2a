import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { BadParameter } from '../errors.ts';

x509.cryptoProvider.set(globalThis.crypto);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** OID of tp's identity extension: JSON with logins, traits, route and the identity kind. */
export const IDENTITY_OID = '1.3.9999.7270.1';

/** A CA as PEM text: certificate and PKCS#8 private key. */
export interface TlsKeyPair {
  cert: string;
  key: string;
}

/** The tp-specific part of an X.509 identity, carried in the IDENTITY_OID extension. */
export interface TlsIdentityExt {
  kind: 'user' | 'admin' | 'proxy' | 'node' | 'auth';
  logins?: string[];
  traits?: Record<string, string[]>;
  route?: Record<string, string>;
}

/** What a leaf certificate says about its holder. */
export interface TlsSubject {
  commonName: string;
  organization?: string[];
  identity: TlsIdentityExt;
}

/** A parsed leaf as tp reads it. */
export interface ParsedTlsCert {
  commonName: string;
  organization: string[];
  identity: TlsIdentityExt;
  notBefore: Date;
  notAfter: Date;
  serial: string;
}

// DER UTF8String: the value of our identity extension.
function derUtf8(text: string): Uint8Array {
  const body = Buffer.from(text, 'utf8');
  const len = body.length;
  const head =
    len < 0x80
      ? [0x0c, len]
      : len < 0x100
        ? [0x0c, 0x81, len]
        : len < 0x10000
          ? [0x0c, 0x82, len >> 8, len & 0xff]
          : null;
  if (!head) throw new BadParameter('identity extension too large');
  return Buffer.concat([Buffer.from(head), body]);
}

function fromDerUtf8(der: ArrayBuffer): string {
  const b = Buffer.from(der);
  if (b[0] !== 0x0c) throw new BadParameter('identity extension is not a UTF8String');
  const l = b[1]!;
  const start = l < 0x80 ? 2 : 2 + (l & 0x7f);
  return b.subarray(start).toString('utf8');
}

function nameOf(cn: string, orgs: string[] = []): x509.JsonName {
  const name: x509.JsonName = [{ CN: [cn] }];
  for (const o of orgs) name.push({ O: [o] });
  return name;
}

const signingKeys = new Map<string, Promise<CryptoKey>>();
const caInfo = new Map<string, Promise<{ subject: string; aki: x509.Extension }>>();

/** Parses a CA certificate once and keeps its subject and authority key identifier for every leaf it signs. */
function caDetails(pem: string): Promise<{ subject: string; aki: x509.Extension }> {
  let info = caInfo.get(pem);
  if (!info) {
    const cert = new x509.X509Certificate(pem);
    info = x509.AuthorityKeyIdentifierExtension.create(cert.publicKey).then((aki) => ({ subject: cert.subject, aki }));
    caInfo.set(pem, info);
  }
  return info;
}

/** Imports a PKCS#8 PEM once and reuses the CryptoKey (signing is on the login hot path). */
function signingKey(pem: string): Promise<CryptoKey> {
  let k = signingKeys.get(pem);
  if (!k) {
    const der = x509.PemConverter.decodeFirst(pem);
    k = crypto.subtle.importKey('pkcs8', der, ECDSA, false, ['sign']);
    signingKeys.set(pem, k);
  }
  return k;
}

const serial = () => {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString('hex');
};

/** Makes a self-signed ECDSA P-256 CA for `clusterName`, valid from `now` for `years`. */
export async function createTlsCA(clusterName: string, now: number, years = 10): Promise<TlsKeyPair> {
  const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: nameOf(clusterName, [clusterName]),
    notBefore: new Date(now - 60_000),
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
  const ca = await caDetails(spec.ca.cert);
  const pub = typeof spec.publicKey === 'string' ? createPublicKey(spec.publicKey) : spec.publicKey;
  if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BadParameter('TLS public key must be ECDSA P-256');
  }
  const spki = pub.export({ type: 'spki', format: 'der' });
  const publicKey = await crypto.subtle.importKey('spki', spki, ECDSA, true, ['verify']);
  const eku: string[] = [];
  if (spec.usage !== 'server') eku.push(x509.ExtendedKeyUsage.clientAuth);
  if (spec.usage !== 'client') eku.push(x509.ExtendedKeyUsage.serverAuth);
  const sans: x509.JsonGeneralName[] = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(eku),
    ca.aki,
    new x509.Extension(IDENTITY_OID, false, derUtf8(JSON.stringify(spec.subject.identity))),
  ];
  if (sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: nameOf(spec.subject.commonName, spec.subject.organization),
    issuer: ca.subject,
    notBefore: new Date(spec.now - 60_000),
    notAfter: new Date(spec.now + spec.ttlMs),
    signingAlgorithm: ECDSA,
    publicKey,
    signingKey: await signingKey(spec.ca.key),
    extensions,
  });
  return cert.toString('pem');
}

/** Reads subject, validity and tp identity from a PEM or DER certificate. */
export function parseTlsCert(cert: string | Uint8Array): ParsedTlsCert {
  const c = new x509.X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  const ext = c.getExtension(IDENTITY_OID);
  const identity = ext ? (JSON.parse(fromDerUtf8(ext.value)) as TlsIdentityExt) : { kind: 'user' as const };
  return {
    commonName: c.subjectName.getField('CN')[0] ?? '',
    organization: c.subjectName.getField('O'),
    identity,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    serial: c.serialNumber,
  };
}

/** True only if `cert` was signed by one of the CA certificates and is within its validity window at `now`. */
export async function verifyTlsCert(cert: string, caCerts: string[], now: number): Promise<boolean> {
  const leaf = new x509.X509Certificate(cert);
  for (const pem of caCerts) {
    const ca = new x509.X509Certificate(pem);
    if (await leaf.verify({ publicKey: ca.publicKey, date: new Date(now) })) return true;
  }
  return false;
}
