// RFB 3.8 (RFC 6143) facts the agent relies on: the version line, security types, message types, the encodings it
// can walk, and the ServerInit it replays.
import { BadParameter } from '../../core/errors.ts';

/** The only protocol version the agent speaks, on both sides. */
export const RFB_VERSION = 'RFB 003.008\n';

export const SECURITY_NONE = 1;
export const SECURITY_VNC_AUTH = 2;

/** Client → server message types the agent accepts (anything else ends the session). */
export const CLIENT = {
  setPixelFormat: 0,
  setEncodings: 2,
  updateRequest: 3,
  keyEvent: 4,
  pointerEvent: 5,
  cutText: 6,
  /** ExtendedDesktopSize's resize request (sent only once the server announced -308). */
  setDesktopSize: 251,
} as const;

/** Server → client message types the agent walks. */
export const SERVER = { update: 0, colourMap: 1, bell: 2, cutText: 3 } as const;

/** Rectangle encodings (and pseudo-encodings) whose payload length the agent can tell without decoding it. */
export const ENCODING = {
  raw: 0,
  copyRect: 1,
  zrle: 16,
  desktopSize: -223,
  lastRect: -224,
  cursor: -239,
  desktopName: -307,
  extendedDesktopSize: -308,
} as const;

/** True for the encodings a client may ask for: walkable ones, and quality/compression levels (never sent as rects). */
export function walkableEncoding(e: number): boolean {
  if ((Object.values(ENCODING) as number[]).includes(e)) return true;
  return (e >= -32 && e <= -23) || (e >= -256 && e <= -247);
}

/** Longest cut text either side may send (bytes); a longer one ends the session. */
export const MAX_CUT_TEXT = 1 << 20;
/** Most encodings one SetEncodings may list. */
export const MAX_ENCODINGS = 64;
/** Most screens one SetDesktopSize or ExtendedDesktopSize may describe. */
export const MAX_SCREENS = 16;
/** Longest desktop name a server may announce. */
export const MAX_NAME = 4096;

/** The ServerInit message: framebuffer size, pixel format (16 bytes as sent) and desktop name. */
export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: Buffer;
  name: string;
}

/** Bytes per pixel of a 16-byte RFB pixel format; throws BadParameter for a depth RFB does not allow. */
export function bytesPerPixel(pixelFormat: Buffer): number {
  const bpp = pixelFormat[0]!;
  if (bpp !== 8 && bpp !== 16 && bpp !== 32) throw new BadParameter(`pixel format with ${bpp} bits per pixel`);
  return bpp / 8;
}

/** ServerInit as bytes on the wire. */
export function encodeServerInit(init: ServerInit): Buffer {
  const name = Buffer.from(init.name, 'utf8');
  const head = Buffer.alloc(24);
  head.writeUInt16BE(init.width, 0);
  head.writeUInt16BE(init.height, 2);
  init.pixelFormat.copy(head, 4);
  head.writeUInt32BE(name.length, 20);
  return Buffer.concat([head, name]);
}

/** A u32 length and the text: how RFB 3.8 states a failure reason. */
export function reasonBytes(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(text.length);
  return Buffer.concat([len, text]);
}
