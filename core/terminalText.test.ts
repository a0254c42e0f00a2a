import { describe, expect, test } from 'bun:test';
import { parse, stringify } from 'yaml';
import { jsonSafe, terminalSafe, yamlSafe } from './terminalText.ts';

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

  test('jsonSafe escapes the C1 controls JSON.stringify leaves raw, and the value reads back the same', () => {
    const value = { note: 'a\x9b31m\x1bb' };
    const text = jsonSafe(JSON.stringify(value));
    expect(text).toBe('{"note":"a\\u009b31m\\u001bb"}');
    expect(JSON.parse(text)).toEqual(value);
  });

  test('yamlSafe escapes C1 controls in the printer double-quoted strings, and the value reads back the same', () => {
    const value = { note: 'a\x9b31m\x85b', plain: 'ok' };
    const text = yamlSafe(stringify(value));
    expect([...text].some((c) => c >= '\x80' && c <= '\x9f')).toBe(false);
    expect(parse(text)).toEqual(value);
  });
});
