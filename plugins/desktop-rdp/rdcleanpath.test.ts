// The RDCleanPath codec on its own: what a request must look like to be accepted, and answers as IronRDP reads them
// (decoded by the test client's own DER reader).
import { describe, expect, test } from 'bun:test';
import { BadParameter } from '../../core/errors.ts';
import { cleanPathRequest, connectionRequest, decodeAnswer } from '../../test/helpers/rdpClient.ts';
import { decodeRequest, encodeError, encodeResponse, requestSize } from './rdcleanpath.ts';

const x224 = connectionRequest(3);

describe('RDCleanPath requests', () => {
  test("IronRDP's request decodes; its size is known from its first bytes", () => {
    const pdu = cleanPathRequest({ destination: 'win1', x224, proxyAuth: 'tok' });
    expect(decodeRequest(pdu)).toEqual({ destination: 'win1', proxyAuth: 'tok', preconnectionBlob: undefined, x224 });
    expect(requestSize(pdu.subarray(0, 1))).toBeUndefined();
    expect(requestSize(pdu.subarray(0, 4))).toBe(pdu.length);
  });

  test('refused: trailing bytes, fields out of order or twice, gateway-only fields, a non-minimal length', () => {
    const pdu = cleanPathRequest({ destination: 'win1', x224 });
    const bad = [
      Buffer.concat([pdu, Buffer.from([0])]),
      // [2] destination again after [6].
      rewrap(pdu, Buffer.from([0xa2, 0x04, 0x0c, 0x02, 0x68, 0x69])),
      // [9] server_addr, which only a gateway sends.
      rewrap(pdu, Buffer.from([0xa9, 0x04, 0x0c, 0x02, 0x68, 0x69])),
      // A length of 5 written in the long form.
      Buffer.from([0x30, 0x81, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x01]),
      // Not UTF-8 in a UTF8String.
      notUtf8(cleanPathRequest({ destination: 'zz', x224 })),
    ];
    for (const b of bad) expect(() => decodeRequest(b)).toThrow(BadParameter);
    expect(() => requestSize(Buffer.from([0x31, 0x00]))).toThrow('not an RDCleanPath PDU');
  });
});

/** `pdu` with its destination's two bytes "zz" made invalid UTF-8. */
function notUtf8(pdu: Buffer): Buffer {
  const out = Buffer.from(pdu);
  out.set([0xff, 0xfe], out.indexOf('zz'));
  return out;
}

/** `pdu`'s SEQUENCE with `extra` appended inside it (a two-byte length form, as the request is over 127 bytes). */
function rewrap(pdu: Buffer, extra: Buffer): Buffer {
  const inner = Buffer.concat([pdu.subarray(pdu[1]! & 0x80 ? 2 + (pdu[1]! & 0x7f) : 2), extra]);
  return Buffer.concat([Buffer.from([0x30, 0x82, inner.length >> 8, inner.length & 0xff]), inner]);
}

describe('RDCleanPath answers', () => {
  test('a response and each error kind decode as IronRDP reads them', () => {
    const certs = [Buffer.alloc(900, 1), Buffer.alloc(300, 2)];
    expect(decodeAnswer(encodeResponse(Buffer.from([3, 0, 0, 4]), certs, '10.0.0.5:3389'))).toEqual({
      version: 3390,
      x224: Buffer.from([3, 0, 0, 4]),
      certChain: certs,
      serverAddr: '10.0.0.5:3389',
    });
    expect(decodeAnswer(encodeError({ code: 1, wsaError: 10061 })).error).toEqual({
      code: 1,
      http: undefined,
      wsa: 10061,
      tls: undefined,
    });
    expect(decodeAnswer(encodeError({ code: 1, tlsAlert: 42 })).error?.tls).toBe(42);
    const neg = decodeAnswer(encodeError({ code: 2, x224: Buffer.from([9, 9]) }));
    expect([neg.error?.code, neg.x224]).toEqual([2, Buffer.from([9, 9])]);
  });
});
