import { describe, expect, test } from 'bun:test';
import { terminalSafe } from './terminalText.ts';

describe('terminalSafe', () => {
  test('strips CSI, OSC (BEL or ST ended), two-byte escapes, C0, DEL and C1', () => {
    expect(terminalSafe('a\x1b[2J\x1b]0;pwned\x07b')).toBe('ab');
    expect(terminalSafe('a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b')).toBe('alinkb');
    expect(terminalSafe('a\x1bcb\x1b')).toBe('ab');
    expect(terminalSafe('a\x9b31mb\x9d0;t\x9cc\x85d')).toBe('abcd');
    expect(terminalSafe('a\x00\x08\x7f\rb')).toBe('ab');
  });

  test('one line by default; multiline keeps newlines and tabs', () => {
    expect(terminalSafe('a\nb\tc')).toBe('a b c');
    expect(terminalSafe('a\nb\tc\r\n', { multiline: true })).toBe('a\nb\tc\n');
  });

  test('ordinary text, accents and emoji stay as they are', () => {
    expect(terminalSafe('héllo wörld ✓ env=prod')).toBe('héllo wörld ✓ env=prod');
  });
});
