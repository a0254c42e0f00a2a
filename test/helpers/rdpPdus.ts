// RDP PDUs a test client sends after the RDCleanPath exchange, written from MS-RDPBCGR: the plaintext connection
// sequence up to the Client Info PDU (MCS Connect-Initial, Erect Domain, Attach User, channel joins), the Client
// Info PDU itself, and input PDUs (fast-path and slow-path), so tests can see what the agent makes of them.
import type { Duplex } from 'node:stream';
import { readTpkt, tpkt } from './rdpClient.ts';

const u16le = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const utf16 = (s: string, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.write(s, 'utf16le');
  return b;
};

/** A TPKT + X.224 Data TPDU around one MCS PDU. */
export function dataTpdu(mcs: Buffer): Buffer {
  return tpkt(Buffer.concat([Buffer.from([2, 0xf0, 0x80]), mcs]));
}

function berLength(n: number): Buffer {
  return n < 128 ? Buffer.from([n]) : Buffer.from([0x82, n >> 8, n & 255]);
}

/** Client data blocks: CS_CORE (for `selected`, the protocol the server chose), CS_SECURITY, CS_NET (`channels`). */
function clientData(selected: number, channels: string[]): Buffer {
  const core = Buffer.concat([
    u32le(0x00080004),
    u16le(800),
    u16le(600),
    u16le(0xca01),
    u16le(0xaa03),
    u32le(0x409),
    u32le(2600),
    utf16('tp-test', 32),
    u32le(4),
    u32le(0),
    u32le(12),
    Buffer.alloc(64),
    u16le(0xca01),
    u16le(1),
    u32le(0),
    u16le(24),
    u16le(0x0f),
    u16le(0x0001),
    Buffer.alloc(64),
    Buffer.from([0, 0]),
    u32le(selected),
  ]);
  const block = (type: number, body: Buffer) => Buffer.concat([u16le(type), u16le(body.length + 4), body]);
  const defs = channels.map((name) => {
    const b = Buffer.alloc(12);
    b.write(name, 'latin1');
    b.writeUInt32LE(0xc0000000, 8);
    return b;
  });
  return Buffer.concat([
    block(0xc001, core),
    block(0xc002, Buffer.concat([u32le(0), u32le(0)])),
    block(0xc003, Buffer.concat([u32le(channels.length), ...defs])),
  ]);
}

/** MCS Connect-Initial (BER) around a GCC Conference Create Request (PER) with the client data blocks. */
export function connectInitial(selected = 1, channels: string[] = []): Buffer {
  const blocks = clientData(selected, channels);
  const per2 = (n: number) => Buffer.from([0x80 | (n >> 8), n & 255]);
  const ccr = Buffer.concat([
    Buffer.from('0008001000 01c000 44756361'.replaceAll(' ', ''), 'hex'),
    per2(blocks.length),
    blocks,
  ]);
  const gcc = Buffer.concat([Buffer.from('0005001 47c0001'.replaceAll(' ', ''), 'hex'), per2(ccr.length), ccr]);
  const params = (hex: string) => Buffer.from(hex.replaceAll(' ', ''), 'hex');
  const body = Buffer.concat([
    params('040101 040101 0101ff'),
    params('3019 020122 020102 020100 020101 020100 020101 0202ffff 020102'),
    params('3019 020101 020101 020101 020101 020100 020101 02020420 020102'),
    params('301c 0202ffff 0202fc17 0202ffff 020101 020100 020101 0202ffff 020102'),
    Buffer.from([0x04]),
    berLength(gcc.length),
    gcc,
  ]);
  return dataTpdu(Buffer.concat([Buffer.from([0x7f, 0x65]), berLength(body.length), body]));
}

/** The Client Info PDU's user data (basic security header + TS_INFO_PACKET, Unicode, `flags` extra bits). */
export function clientInfoData(o: { domain?: string; user: string; password: string; flags?: number }): Buffer {
  const s = (t: string) => Buffer.from(t, 'utf16le');
  const fields = [s(o.domain ?? ''), s(o.user), s(o.password), s(''), s('')];
  // TS_EXTENDED_INFO_PACKET: AF_INET, the client address "127.0.0.1", an empty client dir, then a time zone block.
  const addr = Buffer.concat([s('127.0.0.1'), Buffer.alloc(2)]);
  const dir = Buffer.alloc(2);
  const extra = Buffer.concat([
    u16le(2),
    u16le(addr.length),
    addr,
    u16le(dir.length),
    dir,
    Buffer.alloc(172),
    u32le(0),
    u32le(0),
  ]);
  return Buffer.concat([
    u16le(0x0040),
    u16le(0),
    u32le(0),
    u32le(0x00000033 | (o.flags ?? 0)),
    ...fields.map((f) => u16le(f.length)),
    ...fields.flatMap((f) => [f, Buffer.alloc(2)]),
    extra,
  ]);
}

/** An MCS Send Data Request from user `initiator` on `channel` around `userData`. */
export function sendData(initiator: number, channel: number, userData: Buffer): Buffer {
  const n = userData.length;
  const per = n < 128 ? Buffer.from([n]) : Buffer.from([0x80 | (n >> 8), n & 255]);
  const head = Buffer.from([0x64, initiator >> 8, initiator & 255, channel >> 8, channel & 255, 0x70]);
  return dataTpdu(Buffer.concat([head, per, userData]));
}

/**
 * Runs RDP's connection sequence up to (not including) the Client Info PDU over `sock` (plaintext, as the gateway's
 * client): Connect-Initial, Erect Domain, Attach User, joins of the user and I/O channels (and `channels`' ids).
 * Returns the MCS user id the server gave (the initiator of later PDUs) and the server's Connect-Response.
 */
export async function connectMcs(
  sock: Duplex,
  channels: string[] = [],
): Promise<{ initiator: number; response: Buffer }> {
  sock.write(connectInitial(1, channels));
  const response = await readTpkt(sock);
  sock.write(dataTpdu(Buffer.from([0x04, 0x01, 0x00, 0x01, 0x00])));
  sock.write(dataTpdu(Buffer.from([0x28])));
  const attach = await readTpkt(sock);
  if ((attach[7]! & 0xfc) !== 0x2c || attach[8] !== 0)
    throw new Error(`no Attach User Confirm: ${attach.toString('hex')}`);
  const initiator = attach.readUInt16BE(9);
  const ids = [initiator + 1001, 1003, ...channels.map((_, i) => 1004 + i)];
  for (const id of ids) {
    sock.write(dataTpdu(Buffer.from([0x38, initiator >> 8, initiator & 255, id >> 8, id & 255])));
    const c = await readTpkt(sock);
    if ((c[7]! & 0xfc) !== 0x3c || c[8] !== 0) throw new Error(`channel ${id} not joined: ${c.toString('hex')}`);
  }
  return { initiator, response };
}

/**
 * The client's side of the connection sequence for user `initiator`, without waiting for the server (for a server
 * stand-in that does not answer RDP): Connect-Initial, Erect Domain, Attach User, the user and I/O channel joins.
 */
export function connectPdusBlind(initiator = 3): Buffer[] {
  const join = (id: number) => dataTpdu(Buffer.from([0x38, initiator >> 8, initiator & 255, id >> 8, id & 255]));
  return [
    connectInitial(1),
    dataTpdu(Buffer.from([0x04, 0x01, 0x00, 0x01, 0x00])),
    dataTpdu(Buffer.from([0x28])),
    join(initiator + 1001),
    join(1003),
  ];
}

/** A fast-path input PDU with one keyboard event (scancode `code`, key down). */
export function fastPathKey(code: number): Buffer {
  return Buffer.from([1 << 2, 4, 0x00, code]);
}

/** A slow-path TS_INPUT_PDU (share control + share data headers, one scancode event) as MCS user data. */
export function slowPathInputData(code: number): Buffer {
  const events = Buffer.alloc(4 + 12);
  events.writeUInt16LE(1, 0);
  events.writeUInt32LE(0, 4); // eventTime
  events.writeUInt16LE(0x0004, 8); // INPUT_EVENT_SCANCODE
  events.writeUInt16LE(0, 10);
  events.writeUInt16LE(code, 12);
  return shareData(0x1c, events);
}

/** A Data PDU (share control header type 7, share data header `pduType2`) around `body`, as MCS user data. */
export function shareData(pduType2: number, body: Buffer): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16LE(18 + body.length, 0);
  head.writeUInt16LE(0x17, 2); // PDUTYPE_DATAPDU | TS_PROTOCOL_VERSION
  head.writeUInt16LE(1004, 4);
  head.writeUInt32LE(0x103ea, 6); // shareId
  head[11] = 1; // STREAM_LOW
  head.writeUInt16LE(body.length + 4, 12);
  head[14] = pduType2;
  return Buffer.concat([head, body]);
}

/** A server's MCS Connect-Response (BER + GCC PER) whose SC_NET gives the I/O channel 1003 and `ids`. */
export function connectResponse(ids: number[]): Buffer {
  const block = (type: number, body: Buffer) => Buffer.concat([u16le(type), u16le(body.length + 4), body]);
  const net = Buffer.concat([
    u16le(1003),
    u16le(ids.length),
    ...ids.map(u16le),
    ids.length % 2 ? u16le(0) : Buffer.alloc(0),
  ]);
  const blocks = Buffer.concat([block(0x0c01, Buffer.concat([u32le(0x00080004), u32le(1)])), block(0x0c03, net)]);
  const per2 = (n: number) => Buffer.from([0x80 | (n >> 8), n & 255]);
  const ccr = Buffer.concat([
    Buffer.from('14760a0101000 1c0004d63446e'.replaceAll(' ', ''), 'hex'),
    per2(blocks.length),
    blocks,
  ]);
  const gcc = Buffer.concat([Buffer.from('000500147c0001', 'hex'), per2(ccr.length), ccr]);
  const params = Buffer.from('301a020122020103020100020101020100020101020300fff8020102', 'hex');
  const body = Buffer.concat([
    Buffer.from('0a0100020100', 'hex'),
    params,
    Buffer.from([0x04]),
    berLength(gcc.length),
    gcc,
  ]);
  return dataTpdu(Buffer.concat([Buffer.from([0x7f, 0x66]), berLength(body.length), body]));
}

/** A virtual channel chunk (CHANNEL_PDU_HEADER, first and last) holding a CB_FORMAT_DATA_RESPONSE of `data`. */
export function clipboardDataResponse(data: Buffer): Buffer {
  const cliprdr = Buffer.concat([u16le(5), u16le(1), u32le(data.length), data]);
  return Buffer.concat([u32le(cliprdr.length), u32le(0x03), cliprdr]);
}

/** An MCS Send Data Indication (server → client) to `initiator` on `channel` around `userData`. */
export function sendDataIndication(initiator: number, channel: number, userData: Buffer): Buffer {
  const pdu = sendData(initiator, channel, userData);
  pdu[7] = 0x68;
  return pdu;
}
