import { BadParameter } from '../../../core/errors.ts';

/** Reads one MySQL packet payload (little-endian integers, length-encoded values); any overrun is a BadParameter. */
export class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    /** What is being read, for error messages: "HandshakeResponse41", "COM_STMT_EXECUTE", ... */
    private readonly what: string,
  ) {}

  /** Throws the malformed-packet error for this payload. */
  fail(why: string): never {
    throw new BadParameter(`malformed MySQL ${this.what}: ${why}`, { protocol: 'mysql', packet: this.what });
  }
  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) this.fail(`ends early (wanted ${n} bytes at offset ${this.pos})`);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
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
  /** A length-encoded integer (1, 3, 4 or 9 bytes); lengths beyond 2^53 are malformed here. */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      const v = this.u64();
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
      return Number(v);
    }
    return this.fail(`0x${first.toString(16)} is not a length-encoded integer`);
  }
  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }
  /** A NUL-terminated string; at the end of the payload, the rest (some servers omit the last NUL). */
  cstr(opts: { orEnd?: boolean } = {}): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0 && !opts.orEnd) this.fail(`string at offset ${this.pos} has no terminating NUL`);
    const stop = end < 0 ? this.buf.length : end;
    const s = this.buf.toString('utf8', this.pos, stop);
    this.pos = end < 0 ? stop : stop + 1;
    return s;
  }
  /** Asserts the payload was read to its last byte. */
  end(): void {
    if (this.remaining) this.fail(`${this.remaining} unexpected bytes at the end`);
  }
}

/** Builds one packet payload: little-endian integers, length-encoded and NUL-terminated strings. */
export class PayloadWriter {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  lenenc(n: number): this {
    if (n < 0xfb) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfc).u16(n);
    if (n <= 0xffffff) {
      const b = Buffer.allocUnsafe(4);
      b[0] = 0xfd;
      b.writeUIntLE(n, 1, 3);
      this.parts.push(b);
      return this;
    }
    const b = Buffer.allocUnsafe(9);
    b[0] = 0xfe;
    b.writeBigUInt64LE(BigInt(n), 1);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }
  cstr(s: string): this {
    if (s.includes('\0')) throw new BadParameter('a MySQL string cannot contain NUL');
    this.parts.push(Buffer.from(`${s}\0`, 'utf8'));
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
