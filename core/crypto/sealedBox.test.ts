import { describe, expect, test } from 'bun:test';
import { newSealKey, openSealed, seal } from './sealedBox.ts';

describe('sealed boxes', () => {
  test('only the recipient opens a box, and only under the same context', () => {
    const me = newSealKey();
    const other = newSealKey();
    const box = seal(me.publicKey, 'certificates', 'login:1');
    expect(openSealed(me, box, 'login:1')).toBe('certificates');
    expect(() => openSealed(other, box, 'login:1')).toThrow('not for this key and context');
    expect(() => openSealed(me, box, 'login:2')).toThrow('not for this key and context');
    expect(seal(me.publicKey, 'certificates', 'login:1')).not.toBe(box);
  });

  test('an altered or truncated box does not open; a malformed or low-order key is refused', () => {
    const me = newSealKey();
    const box = Buffer.from(seal(me.publicKey, 'certificates', 'c'), 'base64url');
    box[box.length - 1]! ^= 1;
    expect(() => openSealed(me, box.toString('base64url'), 'c')).toThrow('was altered');
    expect(() => openSealed(me, 'AAAA', 'c')).toThrow('truncated');
    expect(() => seal('short', 'x', 'c')).toThrow('not an X25519 public key');
    expect(() => seal('A'.repeat(43), 'x', 'c')).toThrow('low-order');
  });
});
