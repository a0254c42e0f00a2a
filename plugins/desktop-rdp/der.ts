// The few DER (X.690) shapes RDCleanPath uses, read tightly: definite minimal lengths, every byte accounted for,
// nothing longer than the caller's cap. INTEGERs are non-negative and small (versions, codes).
import { BadParameter } from '../../core/errors.ts';

/** One DER element: its tag byte and the bytes of its contents. */
export interface Tlv {
  tag: number;
  value: Buffer;
}

/** Universal tags used here. */
export const INTEGER = 0x02;
export const OCTET_STRING = 0x04;
export const UTF8_STRING = 0x0c;
export const SEQUENCE = 0x30;

/** The tag byte of the explicit context-specific tag `[n]` (constructed). */
export const context = (n: number): number => 0xa0 | n;

/**
 * The total size of the element starting `head` (tag, length, contents) once enough bytes of it are known, or
 * undefined when `head` is too short to tell; throws BadParameter for an indefinite, non-minimal or over 3-byte length.
 */
export function elementSize(head: Buffer): number | undefined {
  if (head.length < 2) return undefined;
  const first = head[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0) throw new BadParameter('DER: indefinite length');
  if (n > 3) throw new BadParameter(`DER: a ${n}-byte length`);
  if (head.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + head[2 + i]!;
  if (len < 0x80 || head[2] === 0) throw new BadParameter('DER: a length not in its shortest form');
  return 2 + n + len;
}

/** Reads one element at `at` of `buf`; returns it and where the next begins. Throws BadParameter when it overruns. */
export function readTlv(buf: Buffer, at: number): { tlv: Tlv; next: number } {
  const size = elementSize(buf.subarray(at));
  if (size === undefined || at + size > buf.length) throw new BadParameter('DER: an element runs past its container');
  const first = buf[at + 1]!;
  const headLen = first < 0x80 ? 2 : 2 + (first & 0x7f);
  return { tlv: { tag: buf[at]!, value: buf.subarray(at + headLen, at + size) }, next: at + size };
}

/** The elements filling `buf` exactly, in order. */
export function readAll(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < buf.length; ) {
    const { tlv, next } = readTlv(buf, at);
    out.push(tlv);
    at = next;
  }
  return out;
}

/** The one element `buf` holds, which must have `tag`. */
export function readOne(buf: Buffer, tag: number, what: string): Buffer {
  const all = readAll(buf);
  if (all.length !== 1 || all[0]!.tag !== tag) throw new BadParameter(`DER: ${what} has the wrong type`);
  return all[0]!.value;
}

/** A non-negative INTEGER's value (at most 6 bytes, minimal encoding). */
export function readUint(value: Buffer, what: string): number {
  if (value.length === 0 || value.length > 7 || value[0]! >= 0x80)
    throw new BadParameter(`DER: ${what} is not a small non-negative integer`);
  if (value.length > 1 && value[0] === 0 && value[1]! < 0x80) throw new BadParameter(`DER: ${what} is not minimal`);
  return value.readUIntBE(value.length > 6 ? 1 : 0, Math.min(value.length, 6));
}

/** A UTF8String's text; throws BadParameter when the bytes are not valid UTF-8. */
export function readUtf8(value: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new BadParameter(`DER: ${what} is not valid UTF-8`);
  }
}

/** Encodes one element. */
export function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, value]);
}

/** Encodes a non-negative integer (below 2^48) as a DER INTEGER. */
export function uint(n: number): Buffer {
  const bytes: number[] = [];
  for (let x = n; bytes.length === 0 || x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  return tlv(INTEGER, Buffer.from(bytes));
}
