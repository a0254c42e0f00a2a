import { BadParameter } from '../errors.ts';

/** Builds SSH wire-format data (RFC 4251 §5): uint32, uint64, string, mpint. */
export class SshWriter {
  private parts: Uint8Array[] = [];

  /** Appends a big-endian uint32. */
  uint32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.parts.push(b);
    return this;
  }

  /** Appends a big-endian uint64. */
  uint64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }

  /** Appends a length-prefixed byte string (text is UTF-8). */
  string(data: Uint8Array | string): this {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.uint32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  /** Appends a positive multiple-precision integer given as unsigned big-endian bytes. */
  mpint(unsigned: Uint8Array): this {
    let i = 0;
    while (i < unsigned.length && unsigned[i] === 0) i++;
    let bytes = unsigned.subarray(i);
    if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return this.string(bytes);
  }

  /** Appends bytes as they are. */
  raw(data: Uint8Array): this {
    this.parts.push(data);
    return this;
  }

  /** The bytes written so far. */
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads SSH wire-format data; every read throws BadParameter on truncated input instead of returning garbage. */
export class SshReader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what = 'SSH data',
  ) {}

  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new BadParameter(`truncated ${this.what}`);
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }

  /** Reads a length-prefixed byte string. */
  string(): Buffer {
    const len = this.uint32();
    this.need(len);
    const v = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return v;
  }

  /** Reads a length-prefixed UTF-8 string. */
  text(): string {
    return this.string().toString('utf8');
  }

  /** Reads an mpint and returns its unsigned big-endian bytes without leading zeros. */
  mpint(): Buffer {
    const b = this.string();
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.off;
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.off === this.buf.length;
  }

  /** Throws unless every byte was read (trailing garbage is an error). */
  end(): void {
    if (!this.done) throw new BadParameter(`trailing bytes after ${this.what}`);
  }
}
