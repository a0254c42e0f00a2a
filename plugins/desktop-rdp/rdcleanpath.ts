// RDCleanPath, the PDU IronRDP's browser client speaks to its WebSocket gateway (crates/ironrdp-rdcleanpath): one
// DER SEQUENCE of explicitly tagged optional fields, [0] version 3390, [1] error, [2] destination, [3] proxy_auth,
// [4] server_auth, [5] preconnection_blob, [6] x224_connection_pdu, [7] server_cert_chain, [9] server_addr.
import { BadParameter } from '../../core/errors.ts';
import {
  context,
  elementSize,
  INTEGER,
  OCTET_STRING,
  readAll,
  readOne,
  readUint,
  readUtf8,
  SEQUENCE,
  tlv,
  UTF8_STRING,
  uint,
} from './der.ts';

/** The protocol version IronRDP sends and accepts (its BASE_VERSION 3389 + 1). */
export const RDCLEANPATH_VERSION = 3390;
/** The most bytes a client's request may take: a few strings and an X.224 Connection Request. */
export const MAX_REQUEST = 16 * 1024;

/** error_code values: 1 a general error (with an HTTP status, a socket error or a TLS alert), 2 negotiation. */
export const GENERAL_ERROR = 1;
export const NEGOTIATION_ERROR = 2;

/** What a browser asks for. `destination` is the client's wish only: the agent always dials its configured addr. */
export interface CleanPathRequest {
  destination: string;
  proxyAuth: string;
  preconnectionBlob: string | undefined;
  x224: Buffer;
}

/** An error answer: code 1 with one of the details, or code 2 with the server's X.224 Connection Confirm. */
export interface CleanPathError {
  code: typeof GENERAL_ERROR | typeof NEGOTIATION_ERROR;
  httpStatus?: number;
  wsaError?: number;
  tlsAlert?: number;
  x224?: Buffer;
}

const REQUEST_FIELDS = new Set([0, 2, 3, 4, 5, 6]);

/**
 * The total size of the RDCleanPath PDU whose first bytes are `head` (undefined: not enough bytes yet); throws
 * BadParameter for anything but a DER SEQUENCE of at most MAX_REQUEST bytes.
 */
export function requestSize(head: Buffer): number | undefined {
  if (head.length > 0 && head[0] !== SEQUENCE) throw new BadParameter('the first message is not an RDCleanPath PDU');
  const size = elementSize(head);
  if (size !== undefined && size > MAX_REQUEST)
    throw new BadParameter(`a ${size}-byte RDCleanPath request (at most ${MAX_REQUEST})`);
  return size;
}

/**
 * Decodes a client's request PDU (exactly one SEQUENCE filling `pdu`): version 3390, destination, proxy_auth and an
 * X.224 PDU present, fields in ascending tag order, none twice, none that only a gateway sends. Throws BadParameter.
 */
export function decodeRequest(pdu: Buffer): CleanPathRequest {
  const fields = new Map<number, Buffer>();
  let last = -1;
  for (const f of readAll(readOne(pdu, SEQUENCE, 'the RDCleanPath PDU'))) {
    const n = f.tag & 0x1f;
    if ((f.tag & 0xe0) !== 0xa0 || !REQUEST_FIELDS.has(n))
      throw new BadParameter(`RDCleanPath request: unexpected field tag 0x${f.tag.toString(16)}`);
    if (n <= last) throw new BadParameter('RDCleanPath request: fields out of order or repeated');
    last = n;
    fields.set(n, f.value);
  }
  const field = <T>(n: number, tag: number, name: string, read: (b: Buffer) => T): T => {
    const f = fields.get(n);
    if (!f) throw new BadParameter(`RDCleanPath request: no ${name}`);
    return read(readOne(f, tag, name));
  };
  const version = field(0, INTEGER, 'version', (b) => readUint(b, 'version'));
  if (version !== RDCLEANPATH_VERSION)
    throw new BadParameter(`RDCleanPath version ${version}; tp speaks ${RDCLEANPATH_VERSION}`);
  const text = (n: number, name: string) => field(n, UTF8_STRING, name, (b) => readUtf8(b, name));
  return {
    destination: text(2, 'destination'),
    proxyAuth: text(3, 'proxy_auth'),
    preconnectionBlob: fields.has(5) ? text(5, 'preconnection_blob') : undefined,
    x224: field(6, OCTET_STRING, 'x224_connection_pdu', (b) => Buffer.from(b)),
  };
}

const explicit = (n: number, inner: Buffer) => tlv(context(n), inner);

/** The gateway's success answer: the server's X.224 Connection Confirm, its certificates (DER) and its IP:port. */
export function encodeResponse(x224: Buffer, certChain: Buffer[], serverAddr: string): Buffer {
  return tlv(
    SEQUENCE,
    Buffer.concat([
      explicit(0, uint(RDCLEANPATH_VERSION)),
      explicit(6, tlv(OCTET_STRING, x224)),
      explicit(7, tlv(SEQUENCE, Buffer.concat(certChain.map((c) => tlv(OCTET_STRING, c))))),
      explicit(9, tlv(UTF8_STRING, Buffer.from(serverAddr, 'utf8'))),
    ]),
  );
}

/** The gateway's error answer (IronRDP shows the code and the detail it carries). */
export function encodeError(e: CleanPathError): Buffer {
  const detail = (n: number, value: number | undefined) => (value === undefined ? [] : [explicit(n, uint(value))]);
  const err = tlv(
    SEQUENCE,
    Buffer.concat([
      explicit(0, uint(e.code)),
      ...detail(1, e.httpStatus),
      ...detail(2, e.wsaError),
      ...detail(3, e.tlsAlert),
    ]),
  );
  return tlv(
    SEQUENCE,
    Buffer.concat([
      explicit(0, uint(RDCLEANPATH_VERSION)),
      explicit(1, err),
      ...(e.x224 ? [explicit(6, tlv(OCTET_STRING, e.x224))] : []),
    ]),
  );
}
