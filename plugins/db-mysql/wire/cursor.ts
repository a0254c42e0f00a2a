import { BadParameter } from '../../../core/errors.ts';
import { ByteReader, ByteWriter } from '../../../core/net/byteReader.ts';

/** Reads one MySQL packet payload (little-endian integers, length-encoded values); any overrun is a BadParameter. */
export class Cursor extends ByteReader {
  /** `what` names the packet for error messages: "HandshakeResponse41", "COM_STMT_EXECUTE", ... */
  constructor(buf: Buffer, what: string) {
    super(buf, (why) => new BadParameter(`malformed MySQL ${what}: ${why}`, { protocol: 'mysql', packet: what }));
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
}

/** Builds one packet payload: little-endian integers, length-encoded and NUL-terminated strings. */
export class PayloadWriter extends ByteWriter {
  constructor() {
    super('MySQL');
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
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }
  build(): Buffer {
    return this.body();
  }
}
