import { BadParameter } from '../../../core/errors.ts';
import { ByteReader, ByteWriter } from '../../../core/net/byteReader.ts';

/** Reads one PostgreSQL message body (big-endian integers, NUL-terminated strings); any overrun is a BadParameter. */
export class Cursor extends ByteReader {
  /** `what` names the message for error messages: "Bind", "StartupMessage", ... */
  constructor(buf: Buffer, what: string) {
    super(
      buf,
      (why) => new BadParameter(`malformed PostgreSQL ${what}: ${why}`, { protocol: 'postgres', message: what }),
    );
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
}

/** Builds one message: appends big-endian integers and C strings, then frames them with a type byte and length. */
export class MessageWriter extends ByteWriter {
  constructor() {
    super('PostgreSQL');
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
  /** The message with its 1-byte type (omitted for startup-phase packets) and its int32 length. */
  frame(type?: string): Buffer {
    const body = this.body();
    const head = Buffer.allocUnsafe(type ? 5 : 4);
    if (type) head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, type ? 1 : 0);
    return Buffer.concat([head, body]);
  }
}
