import { describe, expect, test } from 'bun:test';
import { RdpMessages } from './rdpMessages.ts';

/** Runs `chunks` through a fresh RdpMessages; resolves with the chunks it gave out. */
async function cut(chunks: Buffer[]): Promise<Buffer[]> {
  const t = new RdpMessages();
  const out: Buffer[] = [];
  t.on('data', (c: Buffer) => out.push(Buffer.from(c)));
  const ended = new Promise((resolve) => t.on('end', resolve));
  for (const c of chunks) t.write(c);
  t.end();
  await ended;
  return out;
}

const der = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(256, 7)]);
const tpkt = (n: number) => Buffer.concat([Buffer.from([3, 0, n >> 8, n & 0xff]), Buffer.alloc(n - 4, 0x33)]);
const fastShort = Buffer.from([0x00, 0x06, 0x03, 0x00, 0x00, 0x00]);
const fastLong = Buffer.concat([Buffer.from([0x00, 0x8c, 0x97]), Buffer.alloc(0x0c97 - 3, 0x39)]);
const messages = [der, tpkt(105), fastShort, tpkt(14023), fastLong, tpkt(11)];

describe('RDP messages for the browser', () => {
  test('one chunk per RDCleanPath response and RDP PDU, however the stream arrived', async () => {
    const all = Buffer.concat(messages);
    // Every way of cutting the stream in two, and the stream in 1000-byte pieces.
    for (let at = 0; at <= all.length; at += 97) {
      const out = await cut([all.subarray(0, at), all.subarray(at)].filter((c) => c.length));
      expect(out.map((c) => c.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
    }
    const pieces = Array.from({ length: Math.ceil(all.length / 1000) }, (_, i) =>
      all.subarray(i * 1000, i * 1000 + 1000),
    );
    expect((await cut(pieces)).map((c) => c.length)).toEqual(messages.map((m) => m.length));
  });

  test('bytes that are not RDP pass through unchanged, from where the framing stops', async () => {
    const junk = Buffer.from([3, 0, 0, 1, 9, 9, 9]); // a TPKT shorter than its own header
    const out = await cut([der, tpkt(11), junk, Buffer.from('more')]);
    expect(out.slice(0, 2).map((c) => c.length)).toEqual([der.length, 11]);
    expect(Buffer.concat(out.slice(2)).toString('hex')).toBe(
      Buffer.concat([junk, Buffer.from('more')]).toString('hex'),
    );
    // A trailing partial message is given out at the end rather than dropped.
    expect(Buffer.concat(await cut([der, tpkt(11).subarray(0, 5)])).length).toBe(der.length + 5);
  });
});
