import { expect, test } from 'bun:test';
import { ByteQueue } from './byteQueue.ts';

test('bytes come out in order across chunk borders, as views when they lie in one chunk', () => {
  const q = new ByteQueue();
  const a = Buffer.from('hello ');
  q.push(a);
  q.push(Buffer.from('wor'));
  q.push(new Uint8Array([0x6c, 0x64]));
  expect(q.length).toBe(11);
  expect(q.byteAt(6)).toBe(0x77);
  expect(q.byteAt(11)).toBeUndefined();
  expect(q.peek(8)?.toString()).toBe('hello wo');
  expect(q.peekAt(5, 4)?.toString()).toBe(' wor');
  expect(q.peekAt(9, 3)).toBeUndefined();
  const h = q.take(2)!;
  expect(h.buffer).toBe(a.buffer); // no copy
  expect(q.take(20)).toBeUndefined();
  expect(q.take(7)?.toString()).toBe('llo wor');
  expect(q.takeAll().toString()).toBe('ld');
  expect(q.length).toBe(0);
});

test('a message split over 10000 one-byte chunks is taken whole', () => {
  const q = new ByteQueue();
  const src = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i & 0xff));
  for (let i = 0; i < src.length; i++) q.push(src.subarray(i, i + 1));
  expect(q.take(10_000)?.equals(src)).toBe(true);
});
