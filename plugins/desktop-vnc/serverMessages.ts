// The VNC server → browser direction: every server message is walked (rectangles by their encoding's length rule,
// never decoded) so ServerCutText can be found and dropped when the clipboard is denied; payloads stream through.

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter, LimitExceeded } from '../../core/errors.ts';
import { bytesPerPixel, ENCODING, MAX_CUT_TEXT, MAX_NAME, MAX_SCREENS, SERVER } from './rfb.ts';

/** Where walked bytes go, and what the walker needs to know as it goes. */
export interface ServerFilter {
  clipboard: boolean;
  /** The pixel format in effect for the next update (the client's last SetPixelFormat, else the ServerInit's). */
  pixelFormat(): Buffer;
  /** Cut text the desktop sent: its length, and why it was dropped (undefined: it went on to the browser). */
  onCutText(length: number, dropped?: string): void;
}

/** Small forwarded pieces (headers) gather here and leave in writes of up to 64 KiB, and at the end of every message. */
class Outbox {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly write: (chunk: Buffer) => Promise<void>) {}

  async add(chunk: Buffer): Promise<void> {
    // A big payload chunk goes out as it is (after what gathered before it): copying it would cost more than a write.
    if (chunk.length >= 16 * 1024) {
      await this.flush();
      return this.write(chunk);
    }
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    await this.write(chunk);
  }
}

/** The payload bytes after a rectangle's 12-byte header that need no further reading, or -1 for LastRect. */
async function rectangle(r: ByteReader, out: Outbox, head: Buffer, bpp: number): Promise<number> {
  const w = head.readUInt16BE(4);
  const h = head.readUInt16BE(6);
  const encoding = head.readInt32BE(8);
  switch (encoding) {
    case ENCODING.raw:
      return w * h * bpp;
    case ENCODING.copyRect:
      return 4;
    case ENCODING.zrle: {
      const len = await r.read(4);
      await out.add(len);
      return len.readUInt32BE();
    }
    case ENCODING.desktopSize:
      return 0;
    case ENCODING.lastRect:
      return -1;
    case ENCODING.cursor:
      return w * h * bpp + ((w + 7) >> 3) * h;
    case ENCODING.desktopName: {
      const len = await r.read(4);
      if (len.readUInt32BE() > MAX_NAME) throw new LimitExceeded(`a ${len.readUInt32BE()}-byte desktop name`);
      await out.add(len);
      return len.readUInt32BE();
    }
    case ENCODING.extendedDesktopSize: {
      const screens = await r.read(4);
      if (screens[0]! > MAX_SCREENS) throw new LimitExceeded(`ExtendedDesktopSize with ${screens[0]} screens`);
      await out.add(screens);
      return 16 * screens[0]!;
    }
    default:
      throw new BadParameter(
        `the VNC server sent a rectangle in encoding ${encoding}, which tp did not let the client ask for`,
      );
  }
}

async function update(r: ByteReader, out: Outbox, bpp: number): Promise<void> {
  const head = await r.read(3);
  await out.add(Buffer.concat([Buffer.from([SERVER.update]), head]));
  const count = head.readUInt16BE(1);
  for (let i = 0; i < count; i++) {
    const rect = await r.read(12);
    await out.add(rect);
    const payload = await rectangle(r, out, rect, bpp);
    if (payload < 0) break;
    await r.pass(payload, (chunk) => out.add(chunk));
  }
}

async function cutText(r: ByteReader, out: Outbox, f: ServerFilter): Promise<void> {
  const head = await r.read(7);
  const length = head.readUInt32BE(3);
  if (length & 0x80000000) throw new BadParameter('the VNC server sent an extended clipboard message tp did not allow');
  // Too long to forward, or not allowed: the walk goes on past it and the browser never sees it.
  const dropped = !f.clipboard
    ? 'the clipboard is not allowed by your roles'
    : length > MAX_CUT_TEXT
      ? `cut text over ${MAX_CUT_TEXT} bytes is not forwarded`
      : undefined;
  if (dropped) await r.pass(length);
  else {
    await out.add(Buffer.concat([Buffer.from([SERVER.cutText]), head]));
    await r.pass(length, (chunk) => out.add(chunk));
  }
  f.onCutText(length, dropped);
}

/**
 * Walks server messages from `r` into `write`; ends only by throwing: StreamEnded when the server ends the stream,
 * BadParameter for a message or encoding the agent cannot walk (the session then ends: it cannot tell where the next
 * one starts).
 */
export async function relayServerMessages(
  r: ByteReader,
  write: (chunk: Buffer) => Promise<void>,
  f: ServerFilter,
): Promise<never> {
  const out = new Outbox(write);
  for (;;) {
    const type = (await r.read(1))[0]!;
    switch (type) {
      case SERVER.update:
        await update(r, out, bytesPerPixel(f.pixelFormat()));
        break;
      case SERVER.colourMap: {
        const head = await r.read(5);
        await out.add(Buffer.concat([Buffer.from([type]), head]));
        await r.pass(6 * head.readUInt16BE(3), (chunk) => out.add(chunk));
        break;
      }
      case SERVER.bell:
        await out.add(Buffer.from([type]));
        break;
      case SERVER.cutText:
        await cutText(r, out, f);
        break;
      default:
        throw new BadParameter(`the VNC server sent message type ${type}, which tp cannot walk`);
    }
    await out.flush();
  }
}
