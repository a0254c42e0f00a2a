// Attacks on the kube agent's reading of upgraded streams (exec, port-forward): a user's kubectl controls what the
// agent parses, so a header block may be a zlib bomb and a frame may claim any size. The relay's bytes pass either
// way; these prove the agent's copy neither exhausts memory nor lets a client switch the recording off.
import { expect, test } from 'bun:test';
import zlib from 'node:zlib';
import { LimitExceeded } from '../../core/errors.ts';
import { encodeNameValues, HeaderCodec, MAX_HEADER_BLOCK, SPDY_DICTIONARY } from '../../plugins/kube/spdy.ts';
import { streamTap } from '../../plugins/kube/streamTap.ts';

test('a SPDY header block that inflates past the limit (a zlib bomb in a SYN_STREAM) is refused, not held in memory', async () => {
  // 64 MiB of one name/value pair compresses to about 64 KiB.
  const huge = encodeNameValues([['x', 'a'.repeat(64 * 1024 * 1024)]]);
  const bomb = zlib.deflateSync(huge, { dictionary: SPDY_DICTIONARY, level: 9 });
  expect(bomb.length).toBeLessThan(1024 * 1024);
  const inflate = new HeaderCodec(false);
  const err = await inflate.run(bomb).then(
    (b) => b.length,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LimitExceeded);
  expect(String(err)).toContain(`${MAX_HEADER_BLOCK}`);
  inflate.close();
});

test('a client frame the tap refuses (claiming 32 MiB) stops only the client side: the recording goes on', async () => {
  const out: string[] = [];
  const tap = streamTap('ws-exec', { output: (d) => out.push(d.toString()) });
  const head = Buffer.alloc(14);
  head[0] = 0x82;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(32n * 1024n * 1024n, 2);
  tap.fromClient(head);
  const payload = Buffer.from('\x01still recorded');
  tap.fromServer(Buffer.concat([Buffer.from([0x82, payload.length]), payload]));
  await tap.end();
  expect(out).toEqual(['still recorded']);
});
