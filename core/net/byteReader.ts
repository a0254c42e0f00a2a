import { BadParameter } from '../errors.ts';

/**
 * Reads one wire message body front to back; every read is bounded by the body, and an overrun, a missing NUL or
 * trailing bytes throw the BadParameter that `malformed` builds (the protocol names itself there).
 */
export class ByteReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly malformed: (why: string) => BadParameter,
  ) {}

  /** Throws the malformed-message error for this body. */
  fail(why: string): never {
    throw this.malformed(why);
  }
  /** Ensures `n` more bytes are there. */
  protected need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) this.fail(`ends early (wanted ${n} bytes at offset ${this.pos})`);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
  /** A NUL-terminated UTF-8 string; with `orEnd`, the rest of the body when the NUL is missing. */
  cstr(opts: { orEnd?: boolean } = {}): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0 && !opts.orEnd) this.fail(`string at offset ${this.pos} has no terminating NUL`);
    const stop = end < 0 ? this.buf.length : end;
    const s = this.buf.toString('utf8', this.pos, stop);
    this.pos = end < 0 ? stop : stop + 1;
    return s;
  }
  /** Asserts the body was read to its last byte (trailing garbage is malformed, not ignored). */
  end(): void {
    if (this.remaining) this.fail(`${this.remaining} unexpected bytes at the end`);
  }
}

/** Collects the pieces of one wire message body; `cstr` refuses a NUL inside the string (`what` names the protocol). */
export class ByteWriter {
  protected parts: Buffer[] = [];
  constructor(private readonly what: string) {}

  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  cstr(s: string): this {
    if (s.includes('\0')) throw new BadParameter(`a ${this.what} string cannot contain NUL`);
    this.parts.push(Buffer.from(`${s}\0`, 'utf8'));
    return this;
  }
  /** The body so far, as one buffer. */
  body(): Buffer {
    return Buffer.concat(this.parts);
  }
}
