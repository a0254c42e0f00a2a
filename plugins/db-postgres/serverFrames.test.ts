import { describe, expect, test } from 'bun:test';
import { FrameTracker } from './serverFrames.ts';

/** A server message: type byte, int32 length (itself included), body. */
const msg = (code: string, body: number) => {
  const b = Buffer.alloc(5 + body, 0x61);
  b.write(code, 0, 'latin1');
  b.writeInt32BE(4 + body, 1);
  return b;
};

describe('FrameTracker (server message boundaries without keeping the bytes)', () => {
  const stream = Buffer.concat([msg('d', 99), msg('d', 0), msg('C', 12), msg('Z', 1)]);

  test('every split of the stream, headers cut at any byte, gives the same messages and boundaries', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const seen: string[] = [];
      const t = new FrameTracker((code) => seen.push(String.fromCharCode(code)));
      t.track(stream.subarray(0, cut));
      t.track(stream.subarray(cut));
      expect(seen).toEqual(['d', 'd', 'C', 'Z']);
      expect(t.atBoundary).toBe(true);
    }
  });

  test('one byte at a time: at a boundary only between messages', () => {
    const t = new FrameTracker();
    const boundaries: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      t.track(stream.subarray(i, i + 1));
      if (t.atBoundary) boundaries.push(i + 1);
    }
    expect(boundaries).toEqual([104, 109, 126, 132]);
  });

  test('a length below 4 (or negative) is refused, in a whole header and in a split one', () => {
    const bad = Buffer.from([0x44, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new FrameTracker().track(bad)).toThrow('length -1');
    const t = new FrameTracker();
    t.track(Buffer.from([0x44, 0, 0]));
    expect(() => t.track(Buffer.from([0, 3]))).toThrow('length 3');
  });
});
