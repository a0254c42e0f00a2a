// SPDY/3.1 framing as Kubernetes speaks it for exec, attach and port-forward (moby/spdystream on both ends): frames
// split out of a byte stream, frames written, and the name/value header blocks of SYN_STREAM / SYN_REPLY / HEADERS,
// compressed with one zlib context per direction seeded with the SPDY/3 dictionary (draft 3, §2.6.10.1).
import zlib from 'node:zlib';
import { BadParameter, LimitExceeded } from '../../core/errors.ts';

/** Control frame types (draft 3 §2.6). */
export const SPDY = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
  FLAG_FIN: 0x01,
} as const;

const VERSION = 3;
/** The largest frame payload accepted (the 24-bit length allows 16 MiB; kubelet's frames are 32 KiB). */
const MAX_FRAME = 1 << 20;

// The SPDY/3 header dictionary: length-prefixed words, then status lines, dates and media types run together.
const WORDS = [
  'options|head|post|put|delete|trace|accept|accept-charset|accept-encoding|accept-language|',
  'accept-ranges|age|allow|authorization|cache-control|connection|content-base|content-encoding|',
  'content-language|content-length|content-location|content-md5|content-range|content-type|date|etag|',
  'expect|expires|from|host|if-match|if-modified-since|if-none-match|if-range|if-unmodified-since|',
  'last-modified|location|max-forwards|pragma|proxy-authenticate|proxy-authorization|range|referer|',
  'retry-after|server|te|trailer|transfer-encoding|upgrade|user-agent|vary|via|warning|',
  'www-authenticate|method|get|status|200 OK|version|HTTP/1.1|url|public|set-cookie|keep-alive|origin',
]
  .join('')
  .split('|');
const TAIL = [
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505',
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized',
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable',
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT',
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,',
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.',
].join('');

/** The SPDY/3 zlib dictionary. */
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...WORDS.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, 'latin1');
    return b;
  }),
  Buffer.from(TAIL, 'latin1'),
]);

/** One frame: a control frame (`type` set) or a data frame (`streamId` set). */
export type SpdyFrame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/** Splits frames out of a byte stream fed in arbitrary pieces. */
export class SpdyFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the frames they complete (possibly none). Throws on a frame that is not SPDY/3. */
  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (len > MAX_FRAME) throw new LimitExceeded(`a SPDY frame of ${len} bytes is larger than ${MAX_FRAME}`);
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4]!;
      const data = Buffer.from(this.buf.subarray(8, 8 + len));
      const word = this.buf.readUInt32BE(0);
      if (word & 0x80000000) {
        const version = (word >>> 16) & 0x7fff;
        if (version !== VERSION) throw new BadParameter(`SPDY version ${version} is not 3`);
        out.push({ control: true, type: word & 0xffff, flags, data });
      } else out.push({ control: false, streamId: word, flags, data });
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }

  /**
   * How far the stream is inside a frame: `0` at a frame boundary; for a data frame whose head was read, the bytes
   * left to complete it; undefined when a control frame (or a head) is cut, where nothing can be added cleanly.
   */
  leftInFrame(): number | undefined {
    if (this.buf.length === 0) return 0;
    if (this.buf.length < 8 || this.buf.readUInt32BE(0) & 0x80000000) return undefined;
    return 8 + (this.buf.readUInt32BE(4) & 0xffffff) - this.buf.length;
  }
}

function frameHead(word: number, flags: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(word >>> 0, 0);
  b.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return b;
}

/** A control frame's bytes. */
export function controlFrame(type: number, flags: number, data: Buffer): Buffer {
  return Buffer.concat([frameHead(0x80000000 | (VERSION << 16) | type, flags, data.length), data]);
}

/** A data frame's bytes (split by the caller into pieces under 16 MiB). */
export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  return Buffer.concat([frameHead(streamId & 0x7fffffff, flags, data.length), data]);
}

/** The 31-bit stream id at the start of a control frame's payload. */
export function streamIdOf(data: Buffer): number {
  if (data.length < 4) throw new BadParameter('a SPDY control frame is too short for its stream id');
  return data.readUInt32BE(0) & 0x7fffffff;
}

/** A name/value block's uncompressed bytes: names lowercase, several values of one name joined by NUL. */
export function encodeNameValues(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) {
    const name = Buffer.from(k.toLowerCase(), 'latin1');
    const value = Buffer.from(v, 'latin1');
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed name/value block; a NUL-joined value becomes one pair per value. */
export function decodeNameValues(b: Buffer): [string, string][] {
  const read = (at: number) => {
    if (at + 4 > b.length) throw new BadParameter('a SPDY header block ends early');
    const n = b.readUInt32BE(at);
    if (at + 4 + n > b.length) throw new BadParameter('a SPDY header block ends early');
    return { text: b.subarray(at + 4, at + 4 + n).toString('latin1'), next: at + 4 + n };
  };
  if (b.length < 4) throw new BadParameter('a SPDY header block ends early');
  const count = b.readUInt32BE(0);
  if (count > 1024) throw new LimitExceeded('a SPDY header block has more than 1024 names');
  const out: [string, string][] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const name = read(at);
    const value = read(name.next);
    at = value.next;
    for (const v of value.text.split('\0')) out.push([name.text, v]);
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** The most one header block may inflate to: a few bytes can inflate to gigabytes (a zlib bomb). */
export const MAX_HEADER_BLOCK = 256 * 1024;

/** One direction's header compression context: every block of a connection goes through the same zlib stream. */
export class HeaderCodec {
  private readonly z: zlib.Deflate | zlib.Inflate;
  private out: Buffer[] = [];
  private outBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  /** `compress`: blocks this side sends; otherwise blocks it receives. */
  constructor(compress: boolean) {
    this.z = compress
      ? zlib.createDeflate({ dictionary: SPDY_DICTIONARY })
      : zlib.createInflate({ dictionary: SPDY_DICTIONARY });
    this.z.on('data', (c: Buffer) => {
      this.outBytes += c.length;
      if (this.outBytes > MAX_HEADER_BLOCK) {
        this.failure ??= new LimitExceeded(`a SPDY header block inflates past ${MAX_HEADER_BLOCK} bytes`);
        this.out = [];
        this.z.destroy();
        return;
      }
      this.out.push(c);
    });
    this.z.on('error', (err: Error) => {
      this.failure = err;
    });
  }

  /** Runs one block through the stream, flushed to a byte boundary; blocks are processed in call order. */
  run(block: Buffer): Promise<Buffer> {
    const step = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failed());
          this.out = [];
          this.outBytes = 0;
          // A destroyed stream (the limit) may never call back: the close settles the block then.
          const settle = () => (this.failure ? reject(this.failed()) : resolve(Buffer.concat(this.out)));
          this.z.once('close', settle);
          this.z.write(block);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.z.off('close', settle);
            settle();
          });
        }),
    );
    this.queue = step.catch(() => undefined);
    return step;
  }

  private failed(): Error {
    return this.failure instanceof LimitExceeded
      ? this.failure
      : new BadParameter(`SPDY header compression: ${this.failure?.message}`);
  }

  /** Frees the zlib stream. */
  close(): void {
    this.z.destroy();
  }
}
