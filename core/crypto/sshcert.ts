import { type KeyObject, randomBytes } from 'node:crypto';
import { AccessDenied, BadParameter } from '../errors.ts';
import {
  fingerprint,
  formatAuthorizedKey,
  parseAuthorizedKey,
  publicKeyFromBlob,
  readPublicKeyFields,
  sshPublicBlob,
} from './keys.ts';
import { CLOCK_SKEW_MS } from './skew.ts';
import { signSsh, verifySsh } from './sshsig.ts';
import { SshReader, SshWriter } from './sshwire.ts';

/** OpenSSH certificate (PROTOCOL.certkeys) as tp handles it. Times are seconds since the epoch. */
export interface SshCertificate {
  /** `ssh-ed25519-cert-v01@openssh.com` or `ecdsa-sha2-nistp256-cert-v01@openssh.com`. */
  type: string;
  nonce: Buffer;
  /** The certified key as a plain SSH public key blob. */
  publicKey: Buffer;
  serial: bigint;
  certType: 'user' | 'host';
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Record<string, string>;
  /** Extension name → value ('' for flag extensions such as permit-pty). */
  extensions: Record<string, string>;
  /** The CA's public key blob. */
  signatureKey: Buffer;
  signature: Buffer;
  /** The whole certificate blob. */
  blob: Buffer;
}

/** What a CA puts in a certificate; the key, nonce and signature are filled in by `signCert`. */
export interface CertSpec {
  publicKey: Buffer;
  certType: 'user' | 'host';
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  serial?: bigint;
  criticalOptions?: Record<string, string>;
  extensions?: Record<string, string>;
}

/** A certificate that fails a check; `reason` is stable for audit events and tests. */
export class CertRejected extends AccessDenied {
  constructor(
    readonly reason:
      | 'malformed'
      | 'untrusted_ca'
      | 'bad_signature'
      | 'wrong_type'
      | 'expired'
      | 'not_yet_valid'
      | 'wrong_principal'
      | 'unknown_critical_option'
      | 'source_address',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, { reason }, options);
  }
}

/** Validity window meaning "forever" (PROTOCOL.certkeys). */
export const FOREVER = 0xffff_ffff_ffff_ffffn;

const certTypeName = (plain: string) => `${plain}-cert-v01@openssh.com`;

// Options and extensions are lexically ordered; values are themselves strings, empty for flags.
function encodeOptions(opts: Record<string, string>): Buffer {
  const w = new SshWriter();
  for (const name of Object.keys(opts).sort()) {
    const value = opts[name]!;
    w.string(name).string(value === '' ? Buffer.alloc(0) : new SshWriter().string(value).bytes());
  }
  return w.bytes();
}

function decodeOptions(buf: Buffer): Record<string, string> {
  const r = new SshReader(buf, 'certificate options');
  const out: Record<string, string> = {};
  while (!r.done) {
    const name = r.text();
    const data = r.string();
    out[name] = data.length === 0 ? '' : new SshReader(data, `option ${name}`).text();
  }
  return out;
}

/** Signs a certificate for `spec.publicKey` with the CA private key; returns the certificate blob. */
export function signCert(spec: CertSpec, caKey: KeyObject): Buffer {
  const key = new SshReader(spec.publicKey, 'SSH public key');
  const plainType = key.text();
  const keyFields = spec.publicKey.subarray(key.offset);
  publicKeyFromBlob(spec.publicKey);
  // Platform CSPRNG on purpose: the serial (unless the caller gives one) and the nonce must be unpredictable.
  const serial = spec.serial ?? randomBytes(8).readBigUInt64BE();
  const body = new SshWriter()
    .string(certTypeName(plainType))
    .string(randomBytes(32))
    .raw(keyFields)
    .uint64(serial)
    .uint32(spec.certType === 'user' ? 1 : 2)
    .string(spec.keyId)
    .string(new SshWriter().raw(Buffer.concat(spec.principals.map((p) => new SshWriter().string(p).bytes()))).bytes())
    .uint64(spec.validAfter)
    .uint64(spec.validBefore)
    .string(encodeOptions(spec.criticalOptions ?? {}))
    .string(encodeOptions(spec.extensions ?? {}))
    .string('')
    .string(sshPublicBlob(caKey))
    .bytes();
  return Buffer.concat([body, new SshWriter().string(signSsh(caKey, body)).bytes()]);
}

/** Parses a certificate from its blob or its `type base64 [comment]` line; throws CertRejected('malformed'). */
export function parseCert(input: Buffer | string): SshCertificate {
  try {
    const blob = typeof input === 'string' ? parseAuthorizedKey(input).blob : input;
    const r = new SshReader(blob, 'SSH certificate');
    const type = r.text();
    const m = /^(.+)-cert-v01@openssh\.com$/.exec(type);
    if (!m) throw new BadParameter(`"${type}" is not a certificate type`);
    const plain = m[1]!;
    const nonce = r.string();
    const fieldsStart = r.offset;
    readPublicKeyFields(plain, r);
    const publicKey = Buffer.concat([new SshWriter().string(plain).bytes(), blob.subarray(fieldsStart, r.offset)]);
    const serial = r.uint64();
    const kind = r.uint32();
    if (kind !== 1 && kind !== 2) throw new BadParameter(`unknown certificate type ${kind}`);
    const keyId = r.text();
    const pr = new SshReader(r.string(), 'principals');
    const principals: string[] = [];
    while (!pr.done) principals.push(pr.text());
    const validAfter = r.uint64();
    const validBefore = r.uint64();
    const criticalOptions = decodeOptions(r.string());
    const extensions = decodeOptions(r.string());
    r.string();
    const signatureKey = r.string();
    const signature = r.string();
    r.end();
    return {
      type,
      nonce,
      publicKey,
      serial,
      certType: kind === 1 ? 'user' : 'host',
      keyId,
      principals,
      validAfter,
      validBefore,
      criticalOptions,
      extensions,
      signatureKey,
      signature,
      blob,
    };
  } catch (err) {
    if (err instanceof CertRejected) throw err;
    if (err instanceof BadParameter) throw new CertRejected('malformed', `malformed certificate: ${err.message}`);
    throw err;
  }
}

/** What a verifier requires of a certificate. */
export interface CertCheck {
  /** Trusted CA public key blobs (several during rotation). */
  cas: Buffer[];
  certType: 'user' | 'host';
  /** Seconds since the epoch. */
  now: number;
  /** The login (user certs) or host name (host certs) that must be among the principals; omit to skip. */
  principal?: string;
  /** Seconds of clock skew tolerated at both ends of the window. Default CLOCK_SKEW_MS (10 s). */
  skew?: number;
  /** Critical options the caller enforces itself; any other one makes the cert unusable. */
  knownCriticalOptions?: string[];
}

/** Returns the certificate only if signed by one of `cas`, of the right type, valid at `now` and for `principal`. */
export function verifyCert(cert: SshCertificate, check: CertCheck): SshCertificate {
  if (!check.cas.some((ca) => ca.equals(cert.signatureKey))) {
    throw new CertRejected('untrusted_ca', `certificate signed by an untrusted CA (${fingerprint(cert.signatureKey)})`);
  }
  const signedLength = cert.blob.length - 4 - cert.signature.length;
  if (!verifySsh(publicKeyFromBlob(cert.signatureKey), cert.blob.subarray(0, signedLength), cert.signature)) {
    throw new CertRejected('bad_signature', 'certificate signature does not verify (tampered or corrupt)');
  }
  if (cert.certType !== check.certType) {
    throw new CertRejected(
      'wrong_type',
      `expected a ${check.certType} certificate, got a ${cert.certType} certificate`,
    );
  }
  const skew = BigInt(check.skew ?? CLOCK_SKEW_MS / 1000);
  const now = BigInt(Math.floor(check.now));
  if (now + skew < cert.validAfter) {
    throw new CertRejected('not_yet_valid', `certificate is not valid until ${isoTime(cert.validAfter)}`);
  }
  if (cert.validBefore !== FOREVER && now - skew >= cert.validBefore) {
    throw new CertRejected('expired', `certificate expired at ${isoTime(cert.validBefore)}`);
  }
  if (check.principal !== undefined && !cert.principals.includes(check.principal)) {
    throw new CertRejected(
      'wrong_principal',
      `"${check.principal}" is not a principal of the certificate (has: ${cert.principals.join(', ') || 'none'})`,
    );
  }
  const known = new Set(check.knownCriticalOptions ?? []);
  for (const name of Object.keys(cert.criticalOptions)) {
    if (!known.has(name)) throw new CertRejected('unknown_critical_option', `unsupported critical option "${name}"`);
  }
  return cert;
}

/** The certificate as an OpenSSH `*-cert.pub` line. */
export function formatCert(cert: Buffer, comment = ''): string {
  return formatAuthorizedKey(cert, comment);
}

function isoTime(sec: bigint): string {
  return new Date(Number(sec) * 1000).toISOString();
}
