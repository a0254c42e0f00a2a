import { BadParameter } from '../../../core/errors.ts';

/** Reads one PostgreSQL message body (big-endian integers, NUL-terminated strings); any overrun is a BadParameter. */
export class Cursor {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    /** What is being read, for error messages: "Bind", "StartupMessage", ... */
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) this.fail(`ends early (wanted ${n} bytes at offset ${this.pos})`);
  }

  /** Throws the malformed-message error for this body. */
  fail(why: string): never {
    throw new BadParameter(`malformed PostgreSQL ${this.what}: ${why}`, { protocol: 'postgres', message: this.what });
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** A NUL-terminated UTF-8 string. */
  cstr(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) this.fail(`string at offset ${this.pos} has no terminating NUL`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.pos);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  /** Asserts the body was read to its last byte (trailing garbage is malformed, not ignored). */
  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} unexpected bytes at the end`);
  }
}

/** Builds one message: appends big-endian integers and C strings, then frames them with a type byte and length. */
export class MessageWriter {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  i16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  cstr(s: string): this {
    if (s.includes('\0')) throw new BadParameter('a PostgreSQL string cannot contain NUL');
    this.parts.push(Buffer.from(`${s}\0`, 'utf8'));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  /** The message with its 1-byte type (omitted for startup-phase packets) and its int32 length. */
  frame(type?: string): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.allocUnsafe(type ? 5 : 4);
    if (type) head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, type ? 1 : 0);
    return Buffer.concat([head, body]);
  }
}
