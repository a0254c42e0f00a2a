import { expect, test } from 'bun:test';
import { mappedLibc, pageOutCodePages, readOnlyFileRanges } from './codePages.ts';

const MAPS = [
  '00400000-00500000 r--p 00000000 fe:00 1234   /opt/tp/tp-linux-x64',
  '00500000-00900000 r-xp 00100000 fe:00 1234   /opt/tp/tp-linux-x64',
  '00900000-00a00000 rw-p 00500000 fe:00 1234   /opt/tp/tp-linux-x64',
  '01000000-02000000 rw-p 00000000 00:00 0      [heap]',
  '7f0000000000-7f0000100000 rwxp 00000000 00:00 0 ',
  '7f0000200000-7f0000300000 r--s 00000000 00:01 77   /memfd:jit (deleted)',
  '7f0000300000-7f0000400000 r--s 00000000 00:05 78   /dev/shm/ring',
  '7f0000400000-7f0000500000 r-xp 00000000 fe:00 99   /usr/lib/x86_64-linux-gnu/libc.so.6',
  '7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0    [vdso]',
].join('\n');

test('only read-only mappings of regular files are advised: no heap, JIT, writable data, shared memory', () => {
  expect(readOnlyFileRanges(MAPS).map((r) => [r.start.toString(16), Number(r.length), r.path])).toEqual([
    ['400000', 0x100000, '/opt/tp/tp-linux-x64'],
    ['500000', 0x400000, '/opt/tp/tp-linux-x64'],
    ['7f0000400000', 0x100000, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  ]);
});

test('the C library is found among the mappings, glibc or musl', () => {
  expect(mappedLibc(MAPS)).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
  expect(mappedLibc('7f00-7f10 r-xp 0 fe:00 5  /lib/ld-musl-aarch64.so.1')).toBe('/lib/ld-musl-aarch64.so.1');
  expect(mappedLibc('7f00-7f10 r-xp 0 fe:00 5  /opt/libcurl.so.4')).toBeUndefined();
});

test('each range is advised MADV_PAGEOUT; a kernel that refuses them all is an error, a partial refusal is not', () => {
  const calls: [bigint, bigint, number][] = [];
  const r = pageOutCodePages(MAPS, (s, l, a) => {
    calls.push([s, l, a]);
    return s === 0x400000n ? -1 : 0;
  });
  expect(calls.map((c) => c[2])).toEqual([21, 21, 21]);
  expect(r).toEqual({ ranges: 2, bytes: 0x500000 });
  expect(() => pageOutCodePages(MAPS, () => -1)).toThrow('refused MADV_PAGEOUT');
});
