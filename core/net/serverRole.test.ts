import { describe, expect, test } from 'bun:test';
import { certRole, hostMatches, serverIdentityCheck } from './serverRole.ts';

const proxy = {
  subject: { O: 'system:proxy' },
  subjectaltname: 'DNS:localhost, DNS:*.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
};

describe('server certificates: host names and the tp role', () => {
  test('names match exactly, case-insensitively, or through a leftmost wildcard; addresses match IP SANs', () => {
    expect(hostMatches('LOCALHOST', proxy)).toBe(true);
    expect(hostMatches('tp.example.com', proxy)).toBe(true);
    expect(hostMatches('a.tp.example.com', proxy)).toBe(false);
    expect(hostMatches('example.com', proxy)).toBe(false);
    expect(hostMatches('127.0.0.1', proxy)).toBe(true);
    expect(hostMatches('127.0.0.2', proxy)).toBe(false);
    expect(hostMatches('[::1]', proxy)).toBe(true);
    expect(hostMatches('::1', { subjectaltname: 'DNS:::1' })).toBe(false);
    expect(hostMatches('localhost', {})).toBe(false);
  });

  test('the role comes from O=system:<role>; a user certificate names none', () => {
    expect(certRole(proxy)).toBe('proxy');
    expect(certRole({ subject: { O: ['admins', 'system:node'] } })).toBe('node');
    expect(certRole({ subject: { O: ['admins'] } })).toBeUndefined();
  });

  test('the check refuses another role and an unmatched host, and passes the right server', () => {
    expect(serverIdentityCheck('proxy', 'x:1')('localhost', proxy)).toBeUndefined();
    expect(serverIdentityCheck('auth', 'x:1')('localhost', proxy)?.message).toBe(
      "the server at x:1 presented a proxy's certificate, not an auth server's: refusing to send credentials",
    );
    expect(serverIdentityCheck('proxy', 'x:1')('other.host', proxy)?.message).toContain('not valid for "other.host"');
  });
});
