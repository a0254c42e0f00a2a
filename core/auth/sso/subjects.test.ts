import { describe, expect, test } from 'bun:test';
import type { StoredUser } from '../users.ts';
import { checkSubject } from './subjects.ts';

const sam = { issuer: 'https://idp.example', subject: 'sam@corp.example' };
const user = (u: Partial<StoredUser>): StoredUser => ({
  name: 'sam',
  roles: ['admin'],
  traits: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  ...u,
});

describe('SSO subject binding', () => {
  test('a new name, or the account the user belongs to, may log in', () => {
    expect(() => checkSubject('sam', undefined, 'corp', sam)).not.toThrow();
    expect(() => checkSubject('sam', user({ sso: 'corp', ssoSubject: sam }), 'corp', sam)).not.toThrow();
  });

  test('another subject, the same subject at another issuer, another connector or a local user are refused', () => {
    const bound = user({ sso: 'corp', ssoSubject: sam });
    expect(() => checkSubject('sam', bound, 'corp', { ...sam, subject: 'sam@evil.example' })).toThrow(
      'the user name "sam" belongs to another account of connector "corp"',
    );
    expect(() => checkSubject('sam', bound, 'corp', { ...sam, issuer: 'https://other.example' })).toThrow(
      'belongs to another account',
    );
    expect(() => checkSubject('sam', bound, 'gh', sam)).toThrow('belongs to SSO connector "corp", not "gh"');
    expect(() => checkSubject('sam', user({ passwordHash: 'x' }), 'corp', sam)).toThrow('a local user named "sam"');
  });

  test('an SSO user without a recorded account is not claimed by whoever logs in first', () => {
    expect(() => checkSubject('sam', user({ sso: 'corp' }), 'corp', sam)).toThrow(
      'without a record of its provider account; an administrator must remove it',
    );
  });
});
