import { expect, test } from 'bun:test';
import { PassThrough } from 'node:stream';
import { BadParameter } from '../errors.ts';
import { RelayRequestSchema, readHeader } from './header.ts';

test('a header is parsed with its schema and the bytes after it stay on the stream', async () => {
  const s = new PassThrough();
  s.write('{"v":1,"node":"web1","login":"root","extra":true}\nrest');
  expect(await readHeader(s, RelayRequestSchema)).toEqual({ v: 1, node: 'web1', login: 'root' });
  expect(String(s.read())).toBe('rest');
});

test('a header off its schema is a BadParameter naming the field', async () => {
  const s = new PassThrough();
  s.write('{"v":1,"node":["web1"],"login":"root"}\n');
  const err = await readHeader(s, RelayRequestSchema).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BadParameter);
  expect((err as Error).message).toContain('bad stream header field "node"');
});
