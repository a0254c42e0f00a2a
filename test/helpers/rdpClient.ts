// A minimal RDP client for tests, written from MS-RDPBCGR and IronRDP's RDCleanPath definitions: the RDCleanPath
// request IronRDP's web client sends and a decoder of the gateway's answer (its own small DER code, independent of
// the plugin's). The RDP PDUs that follow are in rdpPdus.ts.
import type { Duplex } from 'node:stream';

/** Reads exactly `n` bytes from `sock` (at most `ms`). */
export function readExact(sock: Duplex, n: number, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no ${n} bytes within ${ms} ms (got ${got.length})`)), ms);
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.pause();
      if (err) return reject(err);
      const out = got.subarray(0, n);
      if (got.length > n) sock.unshift(got.subarray(n));
      resolve(out);
    };
    const onData = (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length >= n) done();
    };
    const onClose = () => done(new Error(`the connection closed after ${got.length} of ${n} bytes`));
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.resume();
  });
}

function der(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 255];
  return Buffer.concat([Buffer.from([tag, ...len]), value]);
}

function derInt(n: number): Buffer {
  const b: number[] = [];
  for (let x = n; b.length === 0 || x > 0; x = Math.floor(x / 256)) b.unshift(x % 256);
  if (b[0]! >= 128) b.unshift(0);
  return der(2, Buffer.from(b));
}

/** The RDCleanPath request IronRDP sends: [0] version, [2] destination, [3] proxy_auth, [6] the X.224 request. */
export function cleanPathRequest(o: { destination: string; x224: Buffer; version?: number; proxyAuth?: string }) {
  return der(
    0x30,
    Buffer.concat([
      der(0xa0, derInt(o.version ?? 3390)),
      der(0xa2, der(0x0c, Buffer.from(o.destination))),
      der(0xa3, der(0x0c, Buffer.from(o.proxyAuth ?? 'token'))),
      der(0xa6, der(0x04, o.x224)),
    ]),
  );
}

/** An X.224 Connection Request with a mstshash cookie and an RDP_NEG_REQ asking for `protocols` (SSL|HYBRID). */
export function connectionRequest(protocols = 3): Buffer {
  const cookie = Buffer.from('Cookie: mstshash=alice\r\n');
  const neg = Buffer.from([1, 0, 8, 0, protocols, 0, 0, 0]);
  const body = Buffer.concat([Buffer.from([0, 0xe0, 0, 0, 0, 0, 0]), cookie, neg]);
  body[0] = body.length - 1;
  return tpkt(body);
}

/** A TPKT (version 3, its length) around `body`. */
export function tpkt(body: Buffer): Buffer {
  const out = Buffer.concat([Buffer.from([3, 0, 0, 0]), body]);
  out.writeUInt16BE(out.length, 2);
  return out;
}

/** The gateway's answer, decoded field by field. */
export interface CleanPathAnswer {
  version: number;
  error?: { code: number; http?: number; wsa?: number; tls?: number };
  x224?: Buffer;
  certChain?: Buffer[];
  serverAddr?: string;
}

function tlvs(buf: Buffer): { tag: number; value: Buffer }[] {
  const out: { tag: number; value: Buffer }[] = [];
  for (let at = 0; at < buf.length; ) {
    let len = buf[at + 1]!;
    let head = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = buf.readUIntBE(at + 2, n);
      head += n;
    }
    out.push({ tag: buf[at]!, value: buf.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return out;
}

const int = (b: Buffer) => b.readUIntBE(0, b.length);

/** Decodes one RDCleanPath PDU (the whole buffer). */
export function decodeAnswer(pdu: Buffer): CleanPathAnswer {
  const [seq] = tlvs(pdu);
  if (seq?.tag !== 0x30) throw new Error(`not a SEQUENCE: ${pdu.subarray(0, 4).toString('hex')}`);
  const out: CleanPathAnswer = { version: 0 };
  for (const f of tlvs(seq.value)) {
    const inner = tlvs(f.value)[0]!;
    if (f.tag === 0xa0) out.version = int(inner.value);
    if (f.tag === 0xa1) {
      const e: Record<number, number> = {};
      for (const g of tlvs(inner.value)) e[g.tag & 0x1f] = int(tlvs(g.value)[0]!.value);
      out.error = { code: e[0]!, http: e[1], wsa: e[2], tls: e[3] };
    }
    if (f.tag === 0xa6) out.x224 = inner.value;
    if (f.tag === 0xa7) out.certChain = tlvs(inner.value).map((c) => c.value);
    if (f.tag === 0xa9) out.serverAddr = inner.value.toString('utf8');
  }
  return out;
}

/** Reads one RDCleanPath answer from `sock`, framed by its DER length. */
export async function readAnswer(sock: Duplex): Promise<CleanPathAnswer> {
  const head = await readExact(sock, 2);
  const n = head[1]! & 0x80 ? head[1]! & 0x7f : 0;
  const lenBytes = n ? await readExact(sock, n) : Buffer.alloc(0);
  const len = n ? lenBytes.readUIntBE(0, n) : head[1]!;
  return decodeAnswer(Buffer.concat([head, lenBytes, await readExact(sock, len)]));
}

/** Reads one TPKT from `sock`. */
export async function readTpkt(sock: Duplex): Promise<Buffer> {
  const head = await readExact(sock, 4);
  return Buffer.concat([head, await readExact(sock, head.readUInt16BE(2) - 4)]);
}
