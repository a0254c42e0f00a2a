import { describe, expect, test } from 'bun:test';
import { framePacket, MAX_FRAGMENT } from '../wire.ts';
import { type PacketHead, PacketHeads } from './packetHeads.ts';

const feed = (bytes: Buffer, chunk: number) => {
  const heads: PacketHead[] = [];
  const p = new PacketHeads((h) => heads.push({ ...h, first: Buffer.from(h.first) }));
  for (let at = 0; at < bytes.length; at += chunk) p.push(bytes.subarray(at, at + chunk));
  return { heads, atBoundary: p.atBoundary };
};

describe('packet heads of a streamed server answer', () => {
  const stream = Buffer.concat([
    framePacket(Buffer.from([0x00, 1, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0]), 1),
    framePacket(Buffer.alloc(0), 2),
    framePacket(Buffer.alloc(100, 7), 3),
  ]);

  test('reports every packet once with its first bytes, whatever the chunking', () => {
    for (const size of [1, 3, 4, 5, 17, stream.length]) {
      const { heads, atBoundary } = feed(stream, size);
      expect(heads.map((h) => [h.seq, h.length, h.first.length])).toEqual([
        [1, 12, 12],
        [2, 0, 0],
        [3, 100, 16],
      ]);
      expect(heads[0]?.first[5]).toBe(2);
      expect(atBoundary).toBe(true);
    }
  });

  test('a payload split into fragments is one packet', () => {
    const big = framePacket(Buffer.alloc(MAX_FRAGMENT + 10, 1), 1);
    const { heads } = feed(Buffer.concat([big, framePacket(Buffer.from([0xfe]), 3)]), 65_536);
    expect(heads.map((h) => [h.seq, h.length])).toEqual([
      [1, MAX_FRAGMENT],
      [3, 1],
    ]);
  });
});
