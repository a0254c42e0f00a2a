// A desktop's VNC password file: the password in plain text (its first line), or the 8 obfuscated bytes that
// `vncpasswd -f` writes (TigerVNC's `-PasswordFile`), told apart by the non-text bytes of the latter.
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BadParameter, describe } from '../../core/errors.ts';

/** The fixed DES key VNC viewers obfuscate stored passwords with, bit-reversed for a standard DES (a public fact). */
const OBFUSCATION_KEY = Buffer.from([0xe8, 0x4a, 0xd6, 0x60, 0xc4, 0x72, 0x1a, 0xe0]);

function isText(b: Buffer): boolean {
  return b.every((c) => c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f) || c >= 0x80);
}

/**
 * The VNC password in `path` (at most its first 8 bytes count in VncAuth). Throws BadParameter, naming the desktop,
 * for a file that cannot be read or holds no password; the password itself never appears in an error.
 */
export function readVncPassword(desktop: string, path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new BadParameter(`desktop "${desktop}": cannot read password_file ${path}: ${describe(err)}`);
  }
  if (raw.length === 8 && !isText(raw)) {
    const des = createDecipheriv('des-ecb', OBFUSCATION_KEY, null);
    des.setAutoPadding(false);
    const plain = Buffer.concat([des.update(raw), des.final()]);
    const end = plain.indexOf(0);
    return end < 0 ? plain : plain.subarray(0, end);
  }
  const line = raw.toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new BadParameter(`desktop "${desktop}": password_file ${path} holds no password`);
  return Buffer.from(line, 'utf8');
}
