// WebSocket frames (RFC 6455) read off a byte stream: the kube agent reads a copy of exec and port-forward streams
// (v5.channel.k8s.io, SPDY/3.1+portforward.k8s.io) for audit and recording; the stand-in API server reads kubectl's.
import { LimitExceeded } from '../../core/errors.ts';

/** Splits WebSocket frames (masked or not) out of a byte stream, one whole message at a time; control frames at once. */
export class WsReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private held = 0;
  constructor(
    private readonly onMessage: (opcode: number, data: Buffer) => void,
    private readonly maxMessage = 16 * 1024 * 1024,
  ) {}

  /** Feeds bytes; calls onMessage for each complete message (control frames at once). */
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (len > this.maxMessage) throw new LimitExceeded(`a WebSocket frame of ${len} bytes is too large`);
      const masked = (b1 & 0x80) !== 0;
      const need = at + (masked ? 4 : 0) + len;
      if (this.buf.length < need) return;
      const mask = masked ? this.buf.subarray(at, at + 4) : undefined;
      const data = Buffer.from(this.buf.subarray(need - len, need));
      if (mask) for (let i = 0; i < data.length; i++) data[i]! ^= mask[i % 4]!;
      this.buf = this.buf.subarray(need);
      const opcode = b0 & 0x0f;
      if (opcode >= 8) this.onMessage(opcode, data);
      else {
        this.parts.push(data);
        this.held += data.length;
        if (this.held > this.maxMessage) throw new LimitExceeded('a WebSocket message is too large');
        if (b0 & 0x80) {
          this.held = 0;
          this.onMessage(opcode || 2, Buffer.concat(this.parts));
          this.parts = [];
        }
      }
    }
  }
}
