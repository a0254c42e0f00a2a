import { BadParameter } from '../errors.ts';

/** Longest file name most Unix file systems take, in bytes of UTF-8. */
const MAX_NAME_BYTES = 255;
/** Bytes no file name sent from a browser may hold: C0 controls, DEL and C1 controls (terminal escapes, CR/LF). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing controls in names is this module's job
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Returns the name of a file to create inside a directory the user chose, or BadParameter: one path component (no
 * `/`, not `.` or `..`), no control characters, at most 255 bytes. The directory itself is the user's, as with scp.
 */
export function checkFileName(name: string): string {
  if (name === '') throw new BadParameter('the file needs a name');
  if (name === '.' || name === '..' || name.includes('/'))
    throw new BadParameter(`"${visible(name)}" is not a file name: choose the directory separately`);
  if (name.search(CONTROLS) !== -1) throw new BadParameter(`the file name "${visible(name)}" holds control characters`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    throw new BadParameter(`the file name is longer than ${MAX_NAME_BYTES} bytes`);
  return name;
}

/** A name as it can be shown in a message: control characters as `\xNN`. */
function visible(name: string): string {
  return name.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** RFC 5987 attr-char: what an ext-value carries as itself; every other byte is percent-encoded. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+.^_`|~-]$/;

/**
 * The `Content-Disposition` of a download named `name` (any bytes a remote file name may hold): an attachment with
 * an ASCII fallback (quotes, backslashes, controls and non-ASCII as `_`) and the exact name in RFC 5987 form. The
 * value never holds a control character, a quote or a CR/LF, so no name can end the header or start another.
 */
export function contentDisposition(name: string): string {
  const base = name.split('/').pop() || 'download';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  let exact = '';
  for (const byte of Buffer.from(base, 'utf8')) {
    const c = String.fromCharCode(byte);
    exact += ATTR_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
