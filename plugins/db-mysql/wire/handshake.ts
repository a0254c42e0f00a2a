/** The MySQL/MariaDB connection phase: the server's Initial Handshake v10, the client's SSLRequest and HandshakeResponse41. */

import { Cursor, PayloadWriter } from './cursor.ts';

/** Capability flags (the lower 32 bits; MariaDB's extended flags travel separately as `mariadbCapabilities`). */
export const CLIENT = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  TRANSACTIONS: 8192,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  ZSTD_COMPRESSION: 1 << 26,
  /** MySQL 8: COM_QUERY and COM_STMT_EXECUTE carry query attributes (a different layout). */
  QUERY_ATTRIBUTES: 1 << 27,
} as const;

/** MariaDB's extended capability flags (the greeting's and response's `mariadbCapabilities`). */
export const MARIADB_CLIENT = {
  PROGRESS: 1,
  /** COM_STMT_BULK_EXECUTE, whose parameter arrays tp does not decode. */
  STMT_BULK_OPERATIONS: 4,
  EXTENDED_TYPE_INFO: 8,
  CACHE_METADATA: 16,
} as const;

/** The server's first packet. */
export interface InitialHandshake {
  protocolVersion: 10;
  serverVersion: string;
  connectionId: number;
  /** The auth challenge ("scramble"): part 1 (8 bytes) and part 2 joined, without the trailing NUL. */
  scramble: Buffer;
  capabilities: number;
  /** MariaDB's extended capabilities (0 from MySQL servers). */
  mariadbCapabilities: number;
  charset: number;
  status: number;
  authPluginName: string;
}

/** Parses an Initial Handshake v10 payload; older protocols and truncated greetings are BadParameter. */
export function parseInitialHandshake(payload: Buffer): InitialHandshake {
  const c = new Cursor(payload, 'Initial Handshake');
  const protocolVersion = c.u8();
  if (protocolVersion !== 10) return c.fail(`protocol version ${protocolVersion} (tp speaks 10)`);
  const serverVersion = c.cstr();
  const connectionId = c.u32();
  const part1 = c.bytes(8);
  c.u8(); // filler
  let capabilities = c.u16();
  const charset = c.u8();
  const status = c.u16();
  capabilities = (capabilities | (c.u16() << 16)) >>> 0;
  const authLen = c.u8();
  c.bytes(6);
  const mariadbCapabilities = c.u32(); // reserved on MySQL: zero
  let part2: Buffer = Buffer.alloc(0);
  if (capabilities & CLIENT.SECURE_CONNECTION) {
    part2 = c.bytes(Math.max(13, authLen - 8));
    if (part2.at(-1) === 0) part2 = part2.subarray(0, -1);
  }
  const authPluginName = capabilities & CLIENT.PLUGIN_AUTH ? c.cstr({ orEnd: true }) : '';
  c.end();
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    mariadbCapabilities: capabilities & CLIENT.LONG_PASSWORD ? 0 : mariadbCapabilities,
    charset,
    status,
    authPluginName,
  };
}

/** Encodes an Initial Handshake v10 payload (what the agent offers the client). */
export function buildInitialHandshake(h: InitialHandshake): Buffer {
  const w = new PayloadWriter().u8(10).cstr(h.serverVersion).u32(h.connectionId);
  w.bytes(h.scramble.subarray(0, 8)).u8(0);
  w.u16(h.capabilities & 0xffff)
    .u8(h.charset)
    .u16(h.status)
    .u16(h.capabilities >>> 16);
  w.u8(h.capabilities & CLIENT.PLUGIN_AUTH ? h.scramble.length + 1 : 0);
  w.bytes(Buffer.alloc(6)).u32(h.capabilities & CLIENT.LONG_PASSWORD ? 0 : h.mariadbCapabilities);
  if (h.capabilities & CLIENT.SECURE_CONNECTION) {
    const part2 = Buffer.concat([h.scramble.subarray(8), Buffer.from([0])]);
    w.bytes(part2.length >= 13 ? part2 : Buffer.concat([part2, Buffer.alloc(13 - part2.length)]));
  }
  if (h.capabilities & CLIENT.PLUGIN_AUTH) w.cstr(h.authPluginName);
  return w.build();
}

/**
 * The greeting to show a client that speaks plain text to tp: no TLS (tp is its TLS), no compression (tp reads
 * packets), and none of the command layouts tp does not decode (query attributes, bulk execute).
 */
export function clientOffer(h: InitialHandshake): InitialHandshake {
  const dropped = CLIENT.SSL | CLIENT.COMPRESS | CLIENT.ZSTD_COMPRESSION | CLIENT.QUERY_ATTRIBUTES;
  return {
    ...h,
    capabilities: (h.capabilities & ~dropped) >>> 0,
    mariadbCapabilities: (h.mariadbCapabilities & ~MARIADB_CLIENT.STMT_BULK_OPERATIONS) >>> 0,
  };
}

/** The client's answer to the greeting. */
export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  mariadbCapabilities: number;
  username: string;
  authResponse: Buffer;
  /** Present when CLIENT_CONNECT_WITH_DB is set. */
  database?: string;
  authPluginName?: string;
  attributes?: Record<string, string>;
  /** The zstd level byte, present with CLIENT_ZSTD_COMPRESSION (MySQL 8). */
  zstdLevel?: number;
}

/** The 32 bytes both an SSLRequest and a HandshakeResponse41 start with. */
function fixedPart(
  w: PayloadWriter,
  r: Pick<HandshakeResponse, 'capabilities' | 'maxPacketSize' | 'charset' | 'mariadbCapabilities'>,
) {
  return w.u32(r.capabilities).u32(r.maxPacketSize).u8(r.charset).bytes(Buffer.alloc(19)).u32(r.mariadbCapabilities);
}

/** Parses a HandshakeResponse41 (protocol 4.1 only); a bare SSLRequest or an old 3.20 answer is BadParameter. */
export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const c = new Cursor(payload, 'HandshakeResponse41');
  const capabilities = c.u32();
  if (!(capabilities & CLIENT.PROTOCOL_41)) c.fail('client does not speak protocol 4.1');
  const maxPacketSize = c.u32();
  const charset = c.u8();
  c.bytes(19);
  const mariadbCapabilities = c.u32();
  if (c.remaining === 0) c.fail(capabilities & CLIENT.SSL ? 'an SSLRequest, not a handshake response' : 'no username');
  const username = c.cstr();
  const authResponse =
    capabilities & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA
      ? c.lenencBytes()
      : capabilities & CLIENT.SECURE_CONNECTION
        ? c.bytes(c.u8())
        : Buffer.from(c.cstr());
  const r: HandshakeResponse = { capabilities, maxPacketSize, charset, mariadbCapabilities, username, authResponse };
  if (capabilities & CLIENT.CONNECT_WITH_DB) r.database = c.cstr();
  if (capabilities & CLIENT.PLUGIN_AUTH) r.authPluginName = c.cstr({ orEnd: true });
  if (capabilities & CLIENT.CONNECT_ATTRS && c.remaining) {
    const attrs = new Cursor(c.lenencBytes(), 'connection attributes');
    r.attributes = Object.create(null) as Record<string, string>;
    while (attrs.remaining) r.attributes[attrs.lenencBytes().toString()] = attrs.lenencBytes().toString();
  }
  if (capabilities & CLIENT.ZSTD_COMPRESSION && c.remaining) r.zstdLevel = c.u8();
  c.end();
  return r;
}

/** Encodes a HandshakeResponse41; parse(build(r)) gives r back. */
export function buildHandshakeResponse(r: HandshakeResponse): Buffer {
  const w = fixedPart(new PayloadWriter(), r).cstr(r.username);
  if (r.capabilities & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(r.authResponse);
  else if (r.capabilities & CLIENT.SECURE_CONNECTION) w.u8(r.authResponse.length).bytes(r.authResponse);
  else w.bytes(r.authResponse).u8(0);
  if (r.capabilities & CLIENT.CONNECT_WITH_DB) w.cstr(r.database ?? '');
  if (r.capabilities & CLIENT.PLUGIN_AUTH) w.cstr(r.authPluginName ?? '');
  if (r.capabilities & CLIENT.CONNECT_ATTRS && r.attributes) {
    const attrs = new PayloadWriter();
    for (const [k, v] of Object.entries(r.attributes)) attrs.lenencBytes(Buffer.from(k)).lenencBytes(Buffer.from(v));
    w.lenencBytes(attrs.build());
  }
  if (r.capabilities & CLIENT.ZSTD_COMPRESSION && r.zstdLevel !== undefined) w.u8(r.zstdLevel);
  return w.build();
}

/** An SSLRequest payload: the response's fixed part with CLIENT_SSL set; TLS starts right after it. */
export function buildSslRequest(
  r: Pick<HandshakeResponse, 'capabilities' | 'maxPacketSize' | 'charset' | 'mariadbCapabilities'>,
): Buffer {
  return fixedPart(new PayloadWriter(), { ...r, capabilities: (r.capabilities | CLIENT.SSL) >>> 0 }).build();
}
