import { describe, expect, test } from 'bun:test';
import type { SsoConnector } from './connectors.ts';
import { oidcUserName, userName } from './userNames.ts';

const oidc = (usernameClaim?: string) =>
  ({ kind: 'oidc', name: 'idp', usernameClaim }) as SsoConnector & { kind: 'oidc' };

describe('SSO user names', () => {
  test('the local part of an e-mail, lowercased; other characters are refused, never rewritten', () => {
    expect(userName('Sam.Smith@corp.example', '"email" claim')).toBe('sam.smith');
    expect(userName('olivia', '"sub" claim')).toBe('olivia');
    expect(() => userName("o'brien@corp.example", '"email" claim')).toThrow(
      `the provider's "email" claim "o'brien@corp.example" does not give a valid tp user name`,
    );
    expect(() => userName('sam smith', 'x')).toThrow('does not give a valid tp user name');
    expect(() => userName('', '"email" claim')).toThrow('the provider sent no "email" claim');
    expect(() => userName(42, '"sub" claim')).toThrow('the provider sent no "sub" claim');
  });

  test('default order: preferred_username, a verified e-mail, then the subject', () => {
    expect(oidcUserName(oidc(), { sub: 's1', preferred_username: 'pat', email: 'x@y' })).toBe('pat');
    expect(oidcUserName(oidc(), { sub: 's1', email: 'kim@corp.example' })).toBe('kim');
    expect(oidcUserName(oidc(), { sub: 's1', email: 'kim@corp.example', email_verified: false })).toBe('s1');
    expect(oidcUserName(oidc(), { sub: 's1', email: 'kim@corp.example', email_verified: 'false' })).toBe('s1');
  });

  test('a configured claim is used as is; "email" only when verified', () => {
    expect(oidcUserName(oidc('upn'), { sub: 's1', upn: 'lee@corp.example' })).toBe('lee');
    expect(() => oidcUserName(oidc('upn'), { sub: 's1' })).toThrow('the provider sent no "upn" claim');
    expect(() => oidcUserName(oidc('email'), { sub: 's1', email: 'a@b', email_verified: false })).toThrow(
      'the provider marks the e-mail "a@b" as not verified',
    );
  });
});
