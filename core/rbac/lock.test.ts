import { describe, expect, test } from 'bun:test';
import { lockApplies } from './lock.ts';

const node = { name: 'web-1', hostId: 'h-123' };

describe('lockApplies', () => {
  test('a user lock covers that user only', () => {
    const lock = { target: { user: 'alice' } };
    expect(lockApplies(lock, { user: 'alice' })).toBe(true);
    expect(lockApplies(lock, { user: 'bob' })).toBe(false);
    expect(lockApplies(lock, { node })).toBe(false);
  });
  test('a node lock covers the node by name or host ID, whoever asks', () => {
    expect(lockApplies({ target: { node: 'web-1' } }, { user: 'bob', node })).toBe(true);
    expect(lockApplies({ target: { node: 'h-123' } }, { node })).toBe(true);
    expect(lockApplies({ target: { node: 'web-2' } }, { user: 'bob', node })).toBe(false);
  });
  test('a resource lock covers that kind and name only, whoever asks', () => {
    const lock = { target: { resource: 'db/pg1' } };
    expect(lockApplies(lock, { user: 'bob', resource: 'db/pg1' })).toBe(true);
    expect(lockApplies(lock, { user: 'bob', resource: 'db/pg2' })).toBe(false);
    expect(lockApplies(lock, { user: 'bob', resource: 'kube/pg1' })).toBe(false);
    expect(lockApplies(lock, { user: 'bob', node })).toBe(false);
    expect(lockApplies({ target: { user: 'bob' } }, { resource: 'db/pg1' })).toBe(false);
  });
  test('empty strings never match an absent subject', () => {
    expect(lockApplies({ target: { user: '' } }, { node })).toBe(false);
    expect(lockApplies({ target: { node: '' } }, { user: '' })).toBe(false);
  });
});
