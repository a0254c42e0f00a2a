/**
 * The multiplexer's wire format, after the yamux spec (hashicorp/yamux spec.md): a 12-byte header
 * [version u8][type u8][flags u16][stream id u32][length u32], followed by `length` payload bytes for data frames.
 */

export const VERSION = 0;
export const T_DATA = 0;
export const T_WINDOW = 1;
export const T_PING = 2;
export const T_GOAWAY = 3;
/** Go-away codes (the frame's length field): normal, protocol error, internal error, after the yamux spec. */
export const GOAWAY_NORMAL = 0;
export const GOAWAY_PROTOCOL = 1;
export const GOAWAY_INTERNAL = 2;
/**
 * tp's extension: the listener is busy (a reconnect storm); the stream-ID field says in how many milliseconds to
 * come back. A yamux peer that knows only codes 0-2 still reads it as a go-away.
 */
export const GOAWAY_BUSY = 3;
export const F_SYN = 1;
export const F_ACK = 2;
export const F_FIN = 4;
export const F_RST = 8;
export const HEADER = 12;
/** Each stream's receive window in each direction, granted implicitly when the stream opens. */
export const INITIAL_WINDOW = 256 * 1024;
/** The largest data frame this side sends. */
export const MAX_FRAME = 64 * 1024;

/** Encodes one frame: the header, then the payload when there is one. */
export function encodeFrame(type: number, flags: number, id: number, length: number, payload?: Uint8Array): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h.writeUInt8(VERSION, 0);
  h.writeUInt8(type, 1);
  h.writeUInt16BE(flags, 2);
  h.writeUInt32BE(id, 4);
  h.writeUInt32BE(length, 8);
  return payload ? Buffer.concat([h, payload]) : h;
}
