import { describe, expect, test } from 'bun:test';
import { parseAnswer } from './proxyHttp.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('the proxy answer parser', () => {
  test('a body with a length, whole or still arriving; the connection may be reused', () => {
    const whole = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
    expect(parseAnswer(b(whole), false)).toEqual({ status: 200, body: b('{"ok":true}'), keepAlive: true });
    expect(parseAnswer(b(whole.slice(0, -3)), false)).toBeUndefined();
    expect(() => parseAnswer(b(whole.slice(0, -3)), true)).toThrow('mid-answer');
  });

  test('a chunked body, with and without trailers, is whole only after its last chunk', () => {
    const head = 'HTTP/1.1 403 Forbidden\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunks = '4\r\n{"er\r\n7;x=1\r\nror":1}\r\n';
    expect(parseAnswer(b(head + chunks), false)).toBeUndefined();
    expect(parseAnswer(b(`${head + chunks}0\r\n`), false)).toBeUndefined();
    expect(parseAnswer(b(`${head + chunks}0\r\n\r\n`), false)?.body.toString()).toBe('{"error":1}');
    expect(parseAnswer(b(`${head + chunks}0\r\nx-t: 1\r\n\r\n`), false)?.status).toBe(403);
    expect(() => parseAnswer(b(`${head}zz\r\n`), false)).toThrow('bad chunk size');
  });

  test('connection: close, HTTP/1.0 and a body up to the close are not reused', () => {
    const close = 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}';
    expect(parseAnswer(b(close), false)?.keepAlive).toBe(false);
    expect(parseAnswer(b('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n'), false)?.keepAlive).toBe(false);
    const open = b('HTTP/1.1 200 OK\r\n\r\n{"a":');
    expect(parseAnswer(open, false)).toBeUndefined();
    expect(parseAnswer(open, true)).toEqual({ status: 200, body: b('{"a":'), keepAlive: false });
  });

  test('what is not HTTP, a bad length, or a close before the headers is an error', () => {
    expect(() => parseAnswer(b('SSH-2.0-OpenSSH\r\n\r\n'), false)).toThrow('other than HTTP/1.1');
    expect(() => parseAnswer(b('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'), false)).toThrow('content-length');
    expect(() => parseAnswer(b('HTTP/1.1 200 OK\r\ncontent'), true)).toThrow('before answering');
    expect(parseAnswer(b('HTTP/1.1 204 No Content\r\n\r\n'), false)?.body.length).toBe(0);
  });
});
