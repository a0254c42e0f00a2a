import { describe, expect, test } from 'bun:test';
import { checkProviderUrl, parseClaimsToRoles, parseTeamsToRoles, type SsoConnector } from './connectors.ts';
import { mappedRoles } from './mapping.ts';

describe('SSO mappings', () => {
  test('ORG/TEAM=ROLE lists: an item without = adds a role to the mapping before it', () => {
    expect(parseTeamsToRoles('acme/devs=access,editor, acme/sre=admin')).toEqual([
      { org: 'acme', team: 'devs', roles: ['access', 'editor'] },
      { org: 'acme', team: 'sre', roles: ['admin'] },
    ]);
    expect(() => parseTeamsToRoles('access')).toThrow('"access" is not ORG/TEAM=ROLE');
    expect(() => parseTeamsToRoles('')).toThrow('at least one');
    expect(parseClaimsToRoles('groups=admins=admin,access')).toEqual([
      { claim: 'groups', value: 'admins', roles: ['admin', 'access'] },
    ]);
    expect(() => parseClaimsToRoles('groups=admins')).toThrow('is not CLAIM=VALUE=ROLE');
  });

  test('roles come from matching teams or claims only; team names compare case-insensitively', () => {
    const gh = {
      kind: 'github',
      teamsToRoles: [
        { org: 'Acme', team: 'devs', roles: ['access'] },
        { org: 'acme', team: 'sre', roles: ['admin', 'access'] },
      ],
    } as SsoConnector;
    expect(mappedRoles(gh, { teams: ['acme/devs', 'acme/sre'] })).toEqual(['access', 'admin']);
    expect(mappedRoles(gh, { teams: ['other/devs'] })).toEqual([]);
    const oidc = {
      kind: 'oidc',
      claimsToRoles: [{ claim: 'groups', value: 'devs', roles: ['access'] }],
    } as SsoConnector;
    expect(mappedRoles(oidc, { groups: ['qa', 'devs'] })).toEqual(['access']);
    expect(mappedRoles(oidc, { groups: 'devs' })).toEqual(['access']);
    expect(mappedRoles(oidc, { groups: ['devsx'] })).toEqual([]);
  });

  test('providers must be https; plain http only on loopback', () => {
    expect(checkProviderUrl('issuer', 'https://idp.example.com/')).toBe('https://idp.example.com');
    expect(checkProviderUrl('issuer', 'http://127.0.0.1:5556')).toBe('http://127.0.0.1:5556');
    expect(() => checkProviderUrl('issuer', 'http://idp.example.com')).toThrow('must be https');
    expect(() => checkProviderUrl('issuer', 'not a url')).toThrow('is not a URL');
  });
});
