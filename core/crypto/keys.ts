import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { BadParameter } from '../errors.ts';
import { SshReader, SshWriter } from './sshwire.ts';

/** The SSH key algorithms tp makes and accepts. */
export type SshKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256';

/** A key pair as node:crypto objects. */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Makes a fresh key pair: Ed25519 for SSH, ECDSA P-256 for X.509 (DESIGN.md, Identity). */
export function generateKeyPair(kind: 'ed25519' | 'p256'): KeyPair {
  return kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const b64url = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');

/** The SSH algorithm name of a node:crypto key. */
export function sshKeyType(key: KeyObject): SshKeyType {
  if (key.asymmetricKeyType === 'ed25519') return 'ssh-ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ecdsa-sha2-nistp256';
  throw new BadParameter(`unsupported key type ${key.asymmetricKeyType} (tp uses ed25519 or ecdsa P-256)`);
}

/** The SSH public key blob (RFC 4253 §6.6 / RFC 5656 §3.1) of a public or private key. */
export function sshPublicBlob(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  const type = sshKeyType(pub);
  const w = new SshWriter().string(type);
  if (type === 'ssh-ed25519') return w.string(b64url(jwk.x)).bytes();
  return w
    .string('nistp256')
    .string(Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]))
    .bytes();
}

/** Reads the plain key fields of `type` from `r` and returns a node:crypto public key. */
export function readPublicKeyFields(type: string, r: SshReader): KeyObject {
  if (type === 'ssh-ed25519') {
    const pk = r.string();
    if (pk.length !== 32) throw new BadParameter('bad ed25519 public key length');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pk.toString('base64url') }, format: 'jwk' });
  }
  if (type === 'ecdsa-sha2-nistp256') {
    const curve = r.text();
    const q = r.string();
    if (curve !== 'nistp256' || q.length !== 65 || q[0] !== 4)
      throw new BadParameter('bad ecdsa-sha2-nistp256 public key');
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: q.subarray(1, 33).toString('base64url'),
        y: q.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  throw new BadParameter(`unsupported SSH key type "${type}"`);
}

/** Parses a plain SSH public key blob into a node:crypto key. */
export function publicKeyFromBlob(blob: Buffer): KeyObject {
  const r = new SshReader(blob, 'SSH public key');
  const key = readPublicKeyFields(r.text(), r);
  r.end();
  return key;
}

/** One `authorized_keys`-style line: `type base64 [comment]`. */
export interface AuthorizedKey {
  type: string;
  blob: Buffer;
  comment: string;
}

/** Parses `type base64 [comment]`; checks the blob names the same type as the line. */
export function parseAuthorizedKey(line: string): AuthorizedKey {
  const [type, data, ...rest] = line.trim().split(/\s+/);
  if (!type || !data) throw new BadParameter('expected an OpenSSH public key line: "<type> <base64> [comment]"');
  const blob = Buffer.from(data, 'base64');
  const inner = new SshReader(blob, 'SSH public key').text();
  if (inner !== type) throw new BadParameter(`key line says "${type}" but its data is "${inner}"`);
  return { type, blob, comment: rest.join(' ') };
}

/** Formats a key blob as an `authorized_keys` line. */
export function formatAuthorizedKey(blob: Buffer, comment = ''): string {
  const type = new SshReader(blob).text();
  return `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** OpenSSH's SHA256 fingerprint of a key blob (`SHA256:...`, unpadded base64). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** Encodes a private key in OpenSSH's own unencrypted format (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
export function encodeOpenSSHPrivateKey(privateKey: KeyObject, comment = ''): string {
  const jwk = privateKey.export({ format: 'jwk' });
  const type = sshKeyType(privateKey);
  const pubBlob = sshPublicBlob(privateKey);
  // Platform CSPRNG on purpose, not an IdSource: OpenSSH's check integers are key-file format, not an identifier.
  const check = randomBytes(4);
  const priv = new SshWriter().raw(check).raw(check).string(type);
  if (type === 'ssh-ed25519') {
    const pk = b64url(jwk.x);
    priv.string(pk).string(Buffer.concat([b64url(jwk.d), pk]));
  } else {
    priv
      .string('nistp256')
      .string(Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]))
      .mpint(b64url(jwk.d));
  }
  priv.string(comment);
  let body = priv.bytes();
  const pad = (8 - (body.length % 8)) % 8;
  body = Buffer.concat([body, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const blob = new SshWriter()
    .raw(MAGIC)
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(pubBlob)
    .string(body)
    .bytes();
  const b64 = blob.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Decodes an unencrypted OpenSSH private key (ed25519 or ecdsa P-256) into a node:crypto key. */
export function parseOpenSSHPrivateKey(pem: string): KeyObject {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (!m) throw new BadParameter('not an OpenSSH private key');
  const blob = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  if (!blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new BadParameter('bad OpenSSH private key magic');
  const r = new SshReader(blob.subarray(MAGIC.length), 'OpenSSH private key');
  const cipher = r.text();
  r.text();
  r.string();
  if (cipher !== 'none') throw new BadParameter('encrypted OpenSSH private keys are not supported');
  if (r.uint32() !== 1) throw new BadParameter('expected exactly one key');
  r.string();
  const p = new SshReader(r.string(), 'OpenSSH private key body');
  const check1 = p.uint32();
  const check2 = p.uint32();
  if (check1 !== check2) throw new BadParameter('OpenSSH private key check bytes differ (corrupt key)');
  const type = p.text();
  if (type === 'ssh-ed25519') {
    const pk = p.string();
    const sk = p.string();
    return createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: pk.toString('base64url'), d: sk.subarray(0, 32).toString('base64url') },
      format: 'jwk',
    });
  }
  if (type === 'ecdsa-sha2-nistp256') {
    p.text();
    const q = p.string();
    const d = Buffer.alloc(32);
    const raw = p.mpint();
    raw.copy(d, 32 - raw.length);
    return createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: q.subarray(1, 33).toString('base64url'),
        y: q.subarray(33).toString('base64url'),
        d: d.toString('base64url'),
      },
      format: 'jwk',
    });
  }
  throw new BadParameter(`unsupported OpenSSH private key type "${type}"`);
}
