import { describe, expect, test } from 'bun:test';
import { checkOutput } from './outputSchemas.ts';

// The print-time check: output that breaks the documented style is refused with the key that breaks it, so a
// command can never quietly print epoch numbers, 0 for "no time", or camelCase keys.
const lock = {
  id: 'l1',
  target: { user: 'alice', node: null, resource: null },
  message: '',
  created_at: '2026-12-01T20:45:08.123Z',
  created_by: 'admin',
  expires: null,
};

describe('checkOutput', () => {
  test('a lock as documented passes unchanged', () => {
    expect(checkOutput('locks add', lock)).toEqual(lock);
  });

  test('0 or an epoch number for a time, and a camelCase key, are refused naming the key', () => {
    expect(() => checkOutput('locks add', { ...lock, expires: 0 as never })).toThrow(
      'locks add breaks its schema at expires',
    );
    expect(() => checkOutput('locks add', { ...lock, created_at: String(Date.UTC(2026, 0)) })).toThrow('at created_at');
    expect(() => checkOutput('locks add', { ...lock, createdBy: 'admin' } as never)).toThrow('createdBy');
  });

  test('audit events keep their stored snake_case keys; a camelCase one is refused', () => {
    const event = {
      id: 'e1',
      type: 'session.start',
      code: 'T2000I',
      time: '2026-12-01T20:45:08.123Z',
      cluster: 'c',
      success: true,
      session_id: 's1',
      'addr.remote': '127.0.0.1:5',
    };
    expect(checkOutput('audit search', [event])).toEqual([event]);
    expect(() => checkOutput('audit search', [{ ...event, sessionId: 's1' }])).toThrow('sessionId');
  });
});
