// A small RFB 3.8 client written for the desktop tests (independent of the agent's code): security None (VncAuth
// straight to a server), 32-bit true colour, Raw rectangles into a framebuffer (ZRLE ones skipped by length),
// key/pointer/cut-text input, and raw writes for attack tests.
import { createCipheriv } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** The server refused the handshake; `reason` is the RFB failure reason it sent. */
export class RfbRefused extends Error {
  constructor(readonly reason: string) {
    super(`RFB refused: ${reason}`);
  }
}

/** The VncAuth response: DES of the challenge, keyed by the password's first 8 bytes with each byte's bits mirrored. */
function vncAuth(password: string, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!;
    let m = 0;
    for (let bit = 0; bit < 8; bit++, b >>= 1) m = (m << 1) | (b & 1);
    key[i] = m;
  }
  const des = createCipheriv('des-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([des.update(challenge), des.final()]);
}

/** One server message as the test sees it. */
export type ServerMessage =
  | { type: 'update'; rects: { x: number; y: number; w: number; h: number; encoding: number }[] }
  | { type: 'cut'; text: string }
  | { type: 'bell' };

/** An RFB client over `sock` (already past any tp answer line). Every read gives up after `timeoutMs`. */
export class RfbClient {
  private chunks: Buffer[] = [];
  private have = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  width = 0;
  height = 0;
  name = '';
  private fb = Buffer.alloc(0);

  constructor(
    readonly sock: Duplex,
    private readonly timeoutMs = 10_000,
  ) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      this.wake?.();
    });
    const end = () => {
      this.closed = true;
      this.wake?.();
    };
    sock.on('close', end);
    sock.on('end', end);
    sock.on('error', end);
    sock.resume();
  }

  /** True once the other side closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Exactly `n` bytes; throws when the connection closes first or nothing comes for `timeoutMs`. */
  async read(n: number): Promise<Buffer> {
    const deadline = Date.now() + this.timeoutMs;
    while (this.have < n) {
      if (this.closed) throw new Error(`the connection closed (wanted ${n} bytes, had ${this.have})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${n} bytes within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    // Joins only the chunks the read needs: a small read behind a big update copies little.
    let k = 0;
    for (let got = 0; got < n; k++) got += this.chunks[k]!.length;
    const head = k === 1 ? this.chunks[0]! : Buffer.concat(this.chunks.slice(0, k));
    this.chunks = head.length > n ? [head.subarray(n), ...this.chunks.slice(k)] : this.chunks.slice(k);
    this.have -= n;
    return head.subarray(0, n);
  }

  private async reason(): Promise<string> {
    const len = (await this.read(4)).readUInt32BE();
    return (await this.read(len)).toString('utf8');
  }

  /**
   * Version 3.8, security None (or VncAuth with `password`, for a VNC server reached directly), shared ClientInit,
   * ServerInit; throws RfbRefused with the server's reason.
   */
  async handshake(password?: string): Promise<void> {
    const version = (await this.read(12)).toString('latin1');
    if (version !== 'RFB 003.008\n') throw new Error(`server version ${JSON.stringify(version)}`);
    this.sock.write('RFB 003.008\n');
    const count = (await this.read(1))[0]!;
    if (count === 0) throw new RfbRefused(await this.reason());
    const types = [...(await this.read(count))];
    const want = password === undefined ? 1 : 2;
    if (!types.includes(want)) throw new Error(`server offers security types [${types}], not ${want}`);
    this.sock.write(Buffer.from([want]));
    if (password !== undefined) this.sock.write(vncAuth(password, await this.read(16)));
    if ((await this.read(4)).readUInt32BE() !== 0) throw new RfbRefused(await this.reason());
    this.sock.write(Buffer.from([1]));
    const init = await this.read(24);
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    this.name = (await this.read(init.readUInt32BE(20))).toString('utf8');
    this.fb = Buffer.alloc(this.width * this.height * 4);
  }

  /** Asks for 32 bits per pixel, little endian, true colour, red at bit 16, green 8, blue 0. */
  setPixelFormat32(): void {
    const m = Buffer.alloc(20);
    m[0] = 0;
    Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(m, 4);
    this.sock.write(m);
  }

  setEncodings(encodings: number[]): void {
    const m = Buffer.alloc(4 + 4 * encodings.length);
    m[0] = 2;
    m.writeUInt16BE(encodings.length, 2);
    for (const [i, e] of encodings.entries()) m.writeInt32BE(e, 4 + 4 * i);
    this.sock.write(m);
  }

  requestUpdate(incremental = false): void {
    const m = Buffer.alloc(10);
    m[0] = 3;
    m[1] = incremental ? 1 : 0;
    m.writeUInt16BE(this.width, 6);
    m.writeUInt16BE(this.height, 8);
    this.sock.write(m);
  }

  key(keysym: number, down: boolean): void {
    const m = Buffer.alloc(8);
    m[0] = 4;
    m[1] = down ? 1 : 0;
    m.writeUInt32BE(keysym, 4);
    this.sock.write(m);
  }

  /** Presses and releases each character's keysym (Latin-1 letters are their code; `\n` is Return). */
  type(text: string): void {
    for (const ch of text) {
      const sym = ch === '\n' ? 0xff0d : ch.charCodeAt(0);
      this.key(sym, true);
      this.key(sym, false);
    }
  }

  pointer(x: number, y: number, buttons = 0): void {
    const m = Buffer.alloc(6);
    m[0] = 5;
    m[1] = buttons;
    m.writeUInt16BE(x, 2);
    m.writeUInt16BE(y, 4);
    this.sock.write(m);
  }

  cutText(text: string): void {
    const t = Buffer.from(text, 'latin1');
    const m = Buffer.alloc(8);
    m[0] = 6;
    m.writeUInt32BE(t.length, 4);
    this.sock.write(Buffer.concat([m, t]));
  }

  /** Reads one server message (Raw, CopyRect, ZRLE, DesktopSize, LastRect rectangles; Raw ones land in the framebuffer). */
  async next(): Promise<ServerMessage> {
    const type = (await this.read(1))[0]!;
    if (type === 2) return { type: 'bell' };
    if (type === 3) {
      const len = (await this.read(7)).readUInt32BE(3);
      return { type: 'cut', text: (await this.read(len)).toString('latin1') };
    }
    if (type !== 0) throw new Error(`unexpected server message type ${type}`);
    const count = (await this.read(3)).readUInt16BE(1);
    const rects: { x: number; y: number; w: number; h: number; encoding: number }[] = [];
    for (let i = 0; i < count; i++) {
      const h = await this.read(12);
      const r = {
        x: h.readUInt16BE(0),
        y: h.readUInt16BE(2),
        w: h.readUInt16BE(4),
        h: h.readUInt16BE(6),
        encoding: h.readInt32BE(8),
      };
      rects.push(r);
      if (r.encoding === -224) break;
      if (r.encoding === 0) {
        const px = await this.read(r.w * r.h * 4);
        for (let row = 0; row < r.h; row++)
          px.copy(this.fb, ((r.y + row) * this.width + r.x) * 4, row * r.w * 4, (row + 1) * r.w * 4);
      } else if (r.encoding === 1) await this.read(4);
      else if (r.encoding === 16) await this.read((await this.read(4)).readUInt32BE());
      else if (r.encoding !== -223) throw new Error(`unexpected encoding ${r.encoding}`);
    }
    return { type: 'update', rects };
  }

  /** Reads messages until one matches `want` (at most 200 messages). */
  async until<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> {
    for (let i = 0; i < 200; i++) {
      const m = await this.next();
      if (m.type === type) return m as Extract<ServerMessage, { type: T }>;
    }
    throw new Error(`no ${type} message within 200 messages`);
  }

  /** The colour at (x, y) of the framebuffer so far, as `#rrggbb`. */
  pixel(x: number, y: number): string {
    const i = (y * this.width + x) * 4;
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return `#${hex(this.fb[i + 2]!)}${hex(this.fb[i + 1]!)}${hex(this.fb[i]!)}`;
  }

  close(): void {
    this.sock.destroy();
  }
}
