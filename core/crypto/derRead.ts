// A minimal DER reader (X.690): the few types a certificate's holder fields use. Certificates are parsed with it
// on the hot and idle paths (agents, proxies) instead of @peculiar/x509, whose object model costs ~18 MB of
// resident memory to load; issuance (auth only) still uses that library.
import { BadParameter } from '../errors.ts';

/** One decoded element: its tag, its content bytes, and where the next element starts. */
export interface Tlv {
  tag: number;
  body: Buffer;
  end: number;
}

/** Reads the element at `at` in `buf`; BadParameter on a truncated or over-long encoding. */
export function readTlv(buf: Buffer, at = 0): Tlv {
  if (at + 2 > buf.length) throw new BadParameter('DER: truncated element');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new BadParameter('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) throw new BadParameter('DER: element runs past its container');
  return { tag, body: buf.subarray(start, start + len), end: start + len };
}

/** The elements inside a constructed element's body, in order. */
export function children(body: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < body.length; ) {
    const t = readTlv(body, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER's body as dotted text. */
export function oidText(body: Buffer): string {
  if (!body.length) throw new BadParameter('DER: empty OID');
  const parts = [Math.min(2, Math.floor(body[0]! / 40)), body[0]! - Math.min(2, Math.floor(body[0]! / 40)) * 40];
  let v = 0;
  for (let i = 1; i < body.length; i++) {
    v = v * 128 + (body[i]! & 0x7f);
    if (!(body[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** A string type's text (UTF8String, PrintableString, IA5String, TeletexString as Latin-1, BMPString). */
export function stringText(t: Tlv): string {
  switch (t.tag) {
    case 0x0c:
      return t.body.toString('utf8');
    case 0x13:
    case 0x16:
    case 0x14:
      return t.body.toString('latin1');
    case 0x1e: {
      const swapped = Buffer.from(t.body);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    default:
      throw new BadParameter(`DER: tag 0x${t.tag.toString(16)} is not a string`);
  }
}

/** A UTCTime or GeneralizedTime (UTC, "Z") as a Date. */
export function timeOf(t: Tlv): Date {
  const s = t.body.toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (!m) throw new BadParameter(`DER: unreadable time "${s}"`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
