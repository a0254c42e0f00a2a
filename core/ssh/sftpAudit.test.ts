import { describe, expect, test } from 'bun:test';
import { type SftpOp, sftpAudit } from './sftpAudit.ts';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const s = (t: string) => Buffer.concat([u32(Buffer.byteLength(t)), Buffer.from(t)]);
const packet = (type: number, ...parts: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
};
const status = (id: number, code: number) => packet(101, u32(id), u32(code), s(''), s(''));
const handle = (id: number) => packet(102, u32(id), s('h1'));

/** Feeds `bytes` in pieces of `size` (packets split anywhere). */
function feed(push: (c: Buffer) => void, bytes: Buffer, size: number): void {
  for (let i = 0; i < bytes.length; i += size) push(bytes.subarray(i, i + size));
}

describe('SFTP audit', () => {
  for (const size of [1, 3, 7, 4096]) {
    test(`reports each file operation with the server's answer, however the stream is split (${size}-byte pieces)`, () => {
      const ops: SftpOp[] = [];
      const a = sftpAudit((op) => ops.push(op));
      const data = Buffer.alloc(100_000, 7);
      const requests = Buffer.concat([
        packet(1, u32(3)), // INIT: no request ID, not audited
        packet(3, u32(1), s('/tmp/up.bin'), u32(0x02 | 0x08 | 0x10), u32(0)), // OPEN for writing
        packet(6, u32(2), s('h1'), Buffer.alloc(8), u32(data.length), data), // WRITE: skipped, never held
        packet(3, u32(3), s('/etc/shadow'), u32(0x01), u32(0)), // OPEN for reading
        packet(200, u32(4), s('posix-rename@openssh.com'), s('/tmp/.up.tmp'), s('/tmp/up.bin')),
        packet(13, u32(5), s('/tmp/gone')),
        packet(17, u32(6), s('/tmp')), // STAT: not audited
      ]);
      feed(a.request, requests, size);
      const answers = Buffer.concat([
        packet(2, u32(3)),
        handle(1),
        status(2, 0),
        status(3, 3),
        status(4, 0),
        status(5, 2),
        status(6, 0),
      ]);
      feed(a.answer, answers, size);
      expect(ops).toEqual([
        { action: 'write', path: '/tmp/up.bin', success: true },
        { action: 'read', path: '/etc/shadow', success: false, error: 'permission denied' },
        { action: 'rename', path: '/tmp/.up.tmp', target: '/tmp/up.bin', success: true },
        { action: 'remove', path: '/tmp/gone', success: false, error: 'no such file' },
      ]);
    });
  }

  test('a client that never reads answers cannot make the audit remember requests without bound', () => {
    const ops: SftpOp[] = [];
    const a = sftpAudit((op) => ops.push(op));
    for (let id = 0; id < 5000; id++) a.request(packet(13, u32(id), s(`/tmp/f${id}`)));
    a.answer(status(0, 0)); // forgotten: only the newest 1024 are kept
    a.answer(status(4999, 0));
    expect(ops).toEqual([{ action: 'remove', path: '/tmp/f4999', success: true }]);
  });
});
