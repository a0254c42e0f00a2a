// The browser → VNC server direction: every RFB client message is parsed (fixed sizes, bounded lengths) and either
// forwarded whole, narrowed (SetEncodings), or dropped (input in a view-only session, cut text without clipboard).

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter, LimitExceeded } from '../../core/errors.ts';
import { bytesPerPixel, CLIENT, ENCODING, MAX_CUT_TEXT, MAX_ENCODINGS, MAX_SCREENS, walkableEncoding } from './rfb.ts';

/** What the session lets the browser do, and where the filter reports what it saw. */
export interface ClientFilter {
  viewOnly: boolean;
  clipboard: boolean;
  /** The pixel format the client set (the server walker sizes Raw rectangles by it). */
  onPixelFormat(pixelFormat: Buffer): void;
  /** Cut text the browser sent: its length, and why it was dropped (undefined: it went on to the desktop). */
  onCutText(length: number, dropped?: string): void;
}

/** Forwards one message to the VNC server. */
type Send = (message: Buffer) => Promise<void>;

async function setEncodings(r: ByteReader, send: Send, allowed: Set<number>): Promise<void> {
  const head = await r.read(3);
  const count = head.readUInt16BE(1);
  if (count > MAX_ENCODINGS)
    throw new LimitExceeded(`SetEncodings lists ${count} encodings; tp accepts at most ${MAX_ENCODINGS}`);
  const list = await r.read(4 * count);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    const e = list.readInt32BE(4 * i);
    if (walkableEncoding(e)) kept.push(e);
  }
  allowed.clear();
  for (const e of kept) allowed.add(e);
  const out = Buffer.alloc(4 + 4 * kept.length);
  out[0] = CLIENT.setEncodings;
  out.writeUInt16BE(kept.length, 2);
  for (const [i, e] of kept.entries()) out.writeInt32BE(e, 4 + 4 * i);
  await send(out);
}

async function cutText(r: ByteReader, send: Send, f: ClientFilter): Promise<void> {
  const head = await r.read(7);
  const length = head.readUInt32BE(3);
  // A negative length is the Extended Clipboard pseudo-encoding, which the agent never lets a client ask for.
  if (length & 0x80000000)
    throw new BadParameter('extended clipboard messages are not allowed (tp strips -1063131698)');
  if (length > MAX_CUT_TEXT)
    throw new LimitExceeded(`the browser sent ${length} bytes of cut text; tp accepts at most ${MAX_CUT_TEXT}`);
  const dropped = f.viewOnly
    ? 'the session is view-only'
    : f.clipboard
      ? undefined
      : 'the clipboard is not allowed by your roles';
  if (dropped) await r.pass(length);
  else await send(Buffer.concat([Buffer.from([CLIENT.cutText]), head, await r.read(length)]));
  f.onCutText(length, dropped);
}

async function setDesktopSize(r: ByteReader, send: Send, f: ClientFilter): Promise<void> {
  const head = await r.read(7);
  const screens = head[5]!;
  if (screens > MAX_SCREENS)
    throw new LimitExceeded(`SetDesktopSize with ${screens} screens; tp accepts ${MAX_SCREENS}`);
  const body = await r.read(16 * screens);
  if (!f.viewOnly) await send(Buffer.concat([Buffer.from([CLIENT.setDesktopSize]), head, body]));
}

/**
 * Relays client messages from `r` to `send`; ends only by throwing: StreamEnded when the browser ends the stream,
 * BadParameter for an unknown message type or a bad pixel format, LimitExceeded for an oversize one (the session
 * then ends, since the stream cannot be walked past a message the agent does not understand).
 */
export async function relayClientMessages(r: ByteReader, send: Send, f: ClientFilter): Promise<never> {
  const allowed = new Set<number>();
  for (;;) {
    const type = (await r.read(1))[0]!;
    switch (type) {
      case CLIENT.setPixelFormat: {
        const rest = await r.read(19);
        const pixelFormat = rest.subarray(3);
        bytesPerPixel(pixelFormat);
        f.onPixelFormat(Buffer.from(pixelFormat));
        await send(Buffer.concat([Buffer.from([type]), rest]));
        break;
      }
      case CLIENT.setEncodings:
        await setEncodings(r, send, allowed);
        break;
      case CLIENT.updateRequest:
        await send(Buffer.concat([Buffer.from([type]), await r.read(9)]));
        break;
      case CLIENT.keyEvent:
      case CLIENT.pointerEvent: {
        const rest = await r.read(type === CLIENT.keyEvent ? 7 : 5);
        if (!f.viewOnly) await send(Buffer.concat([Buffer.from([type]), rest]));
        break;
      }
      case CLIENT.cutText:
        await cutText(r, send, f);
        break;
      case CLIENT.setDesktopSize:
        if (!allowed.has(ENCODING.extendedDesktopSize))
          throw new BadParameter('SetDesktopSize before the client asked for ExtendedDesktopSize');
        await setDesktopSize(r, send, f);
        break;
      default:
        throw new BadParameter(`unknown RFB client message type ${type}`);
    }
  }
}
