import { describe, expect, test } from 'bun:test';
import { Unavailable } from '../errors.ts';
import { parseBatch, parseSnapshot } from './items.ts';

describe('state off the wire', () => {
  test('items and events of kinds this build does not know are dropped, the rest kept', () => {
    const snap = parseSnapshot({
      revision: 7,
      items: [
        { kind: 'resource', name: 'db/pg1/h1', value: { name: 'pg1' }, expires: 99 },
        { kind: 'hologram', name: 'x', value: {} },
        { kind: 'role', name: 'access', value: {} },
      ],
    });
    expect(snap).toEqual({
      revision: 7,
      items: [
        { kind: 'resource', name: 'db/pg1/h1', value: { name: 'pg1' }, expires: 99 },
        { kind: 'role', name: 'access', value: {} },
      ],
    });
    const batch = parseBatch({
      revision: 9,
      events: [
        { revision: 8, op: 'delete', kind: 'hologram', name: 'x' },
        { revision: 9, op: 'delete', kind: 'resource', name: 'db/pg1/h1' },
      ],
    });
    expect(batch).toEqual({
      revision: 9,
      events: [{ revision: 9, op: 'delete', kind: 'resource', name: 'db/pg1/h1' }],
    });
  });

  test('a malformed answer is still refused', () => {
    expect(() => parseSnapshot({ revision: 1, items: [{ kind: 'role', value: {} }] })).toThrow(Unavailable);
    expect(() => parseBatch({ revision: -1, events: [] })).toThrow(Unavailable);
  });
});
