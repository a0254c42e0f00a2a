import { expect, test } from 'bun:test';
import { decodeNameValues, encodeNameValues, HeaderCodec } from './spdy.ts';

test('header blocks round-trip through one compression context per direction, the SPDY/3 dictionary seeded', async () => {
  const deflate = new HeaderCodec(true);
  const inflate = new HeaderCodec(false);
  for (const pairs of [
    [['streamtype', 'error']],
    [
      ['streamtype', 'data'],
      ['port', '8080'],
      ['requestid', '0'],
    ],
  ] as [string, string][][]) {
    const block = await deflate.run(encodeNameValues(pairs));
    expect(decodeNameValues(await inflate.run(block))).toEqual(pairs);
  }
  deflate.close();
  inflate.close();
});
