import { expect, test } from 'bun:test';
import { capText } from './capText.ts';

test('capText keeps short text and cuts long text between characters', () => {
  expect(capText('select 1')).toEqual({ text: 'select 1', truncated: false });
  const long = 'é'.repeat(10); // 2 bytes each
  const cut = capText(long, 5);
  expect(cut.truncated).toBe(true);
  expect(cut.text).toBe('éé');
  expect(Buffer.byteLength(capText('x'.repeat(40_000)).text)).toBe(32 * 1024);
});
