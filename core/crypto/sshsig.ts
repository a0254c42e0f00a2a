import { type KeyObject, sign, verify } from 'node:crypto';
import { BadParameter } from '../errors.ts';
import { sshKeyType } from './keys.ts';
import { SshReader, SshWriter } from './sshwire.ts';

/** Signs `data` and returns an SSH signature blob: string algorithm, string signature (RFC 4253 §6.6, RFC 5656 §3.1.2). */
export function signSsh(privateKey: KeyObject, data: Uint8Array): Buffer {
  const type = sshKeyType(privateKey);
  if (type === 'ssh-ed25519')
    return new SshWriter()
      .string(type)
      .string(sign(null, data, privateKey))
      .bytes();
  const rs = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const inner = new SshWriter().mpint(rs.subarray(0, 32)).mpint(rs.subarray(32)).bytes();
  return new SshWriter().string(type).string(inner).bytes();
}

/** True only if `sigBlob` is a valid signature over `data` by `publicKey` with the key's own algorithm name. */
export function verifySsh(publicKey: KeyObject, data: Uint8Array, sigBlob: Buffer): boolean {
  const type = sshKeyType(publicKey);
  let name: string;
  let raw: Buffer;
  try {
    const r = new SshReader(sigBlob, 'SSH signature');
    name = r.text();
    raw = r.string();
    r.end();
  } catch (err) {
    if (err instanceof BadParameter) return false;
    throw err;
  }
  if (name !== type) return false;
  if (type === 'ssh-ed25519') return raw.length === 64 && verify(null, data, publicKey, raw);
  let rs: Buffer;
  try {
    const r = new SshReader(raw, 'ECDSA signature');
    const pad = (b: Buffer) => Buffer.concat([Buffer.alloc(Math.max(0, 32 - b.length)), b]);
    const rr = r.mpint();
    const ss = r.mpint();
    r.end();
    if (rr.length > 32 || ss.length > 32) return false;
    rs = Buffer.concat([pad(rr), pad(ss)]);
  } catch (err) {
    if (err instanceof BadParameter) return false;
    throw err;
  }
  return verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, rs);
}
