import { describe, expect, test } from 'bun:test';
import { checkFileName, contentDisposition } from './fileNames.ts';
import { remotePath } from './sftpTransfer.ts';

describe('file names of web transfers', () => {
  test('an upload takes one path component without controls, at most 255 bytes', () => {
    expect(checkFileName('report 2026.pdf')).toBe('report 2026.pdf');
    expect(checkFileName('résumé.txt')).toBe('résumé.txt');
    for (const bad of [
      '',
      '.',
      '..',
      '../x',
      'a/b',
      'a\nb',
      'a\rb',
      'nul\0',
      'esc\u001b[2J',
      'c1\u009b',
      'é'.repeat(128),
    ])
      expect(() => checkFileName(bad)).toThrow();
  });

  test('a download header names the file exactly and cannot be split, whatever the name holds', () => {
    expect(contentDisposition('/home/me/notes.txt')).toBe(
      `attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`,
    );
    expect(contentDisposition('/tmp/naïve "q"\\.txt')).toBe(
      `attachment; filename="na_ve _q__.txt"; filename*=UTF-8''na%C3%AFve%20%22q%22%5C.txt`,
    );
    const evil = contentDisposition('/tmp/a\r\nSet-Cookie: x=1\u0085');
    expect(evil).not.toMatch(/[\r\n\u0085]/);
    expect(evil).toBe(
      `attachment; filename="a__Set-Cookie: x=1_"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%C2%85`,
    );
  });

  test('a typed remote path: ~ is the home (the SFTP server starts there), the rest is as typed', () => {
    expect(remotePath('')).toBe('.');
    expect(remotePath(' ~ ')).toBe('.');
    expect(remotePath('~/dl')).toBe('dl');
    expect(remotePath('/etc/hosts')).toBe('/etc/hosts');
    expect(remotePath('../x')).toBe('../x');
    expect(() => remotePath('a\0b')).toThrow('NUL');
  });
});
