import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { AccessDenied, BadParameter } from '../errors.ts';

/**
 * Sealed boxes: a message encrypted to one X25519 public key (an ephemeral X25519 exchange, HKDF-SHA256, then
 * AES-256-GCM), so that only the holder of the private key can read it. Each box is bound to a context string
 * (e.g. the login it answers); opening it under another context fails.
 */

const INFO = 'tp sealed box v1';
const KEY_LEN = 32;
const IV_LEN = 12;
const TAG_LEN = 16;

/** A recipient's key pair; the public half travels as 43 base64url characters (the raw 32-byte key). */
export interface SealKey {
  publicKey: string;
  privateKey: KeyObject;
}

const rawPublic = (k: KeyObject) => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');

function importPublic(b64: string): KeyObject {
  if (!/^[A-Za-z0-9_-]{43}$/.test(b64)) throw new BadParameter('not an X25519 public key (43 base64url characters)');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64 }, format: 'jwk' });
}

function boxKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), INFO, KEY_LEN));
}

/** A fresh recipient key pair, for one message. */
export function newSealKey(): SealKey {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublic(publicKey).toString('base64url'), privateKey };
}

/** `plaintext` sealed to `recipient` (a SealKey's public half) under `context`, as base64url. */
export function seal(recipient: string, plaintext: string, context: string): string {
  const to = importPublic(recipient);
  const eph = generateKeyPairSync('x25519');
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: eph.privateKey, publicKey: to });
  } catch (err) {
    throw new BadParameter('the X25519 public key is not usable (a low-order point)', {}, { cause: err });
  }
  const ephRaw = rawPublic(eph.publicKey);
  // Platform CSPRNG on purpose, not an IdSource: a GCM IV must never repeat under a key, so no caller may choose it.
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', boxKey(shared, ephRaw, rawPublic(to)), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([ephRaw, iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The plaintext of a box sealed to `key` under `context`; AccessDenied when it was not, or was altered. */
export function openSealed(key: SealKey, box: string, context: string): string {
  const raw = Buffer.from(box, 'base64url');
  if (raw.length < KEY_LEN + IV_LEN + TAG_LEN) throw new AccessDenied('the sealed answer is truncated');
  const ephRaw = raw.subarray(0, KEY_LEN);
  const iv = raw.subarray(KEY_LEN, KEY_LEN + IV_LEN);
  const tag = raw.subarray(KEY_LEN + IV_LEN, KEY_LEN + IV_LEN + TAG_LEN);
  try {
    const eph = importPublic(ephRaw.toString('base64url'));
    const shared = diffieHellman({ privateKey: key.privateKey, publicKey: eph });
    const decipher = createDecipheriv(
      'aes-256-gcm',
      boxKey(shared, ephRaw, Buffer.from(key.publicKey, 'base64url')),
      iv,
    );
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(raw.subarray(KEY_LEN + IV_LEN + TAG_LEN)), decipher.final()]).toString(
      'utf8',
    );
  } catch (err) {
    throw new AccessDenied('the sealed answer is not for this key and context, or was altered', {}, { cause: err });
  }
}
