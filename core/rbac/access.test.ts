import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { AccessDenied } from '../errors.ts';
import {
  allowedLogins,
  checkNodeAccess,
  checkRule,
  maxSessionTtl,
  nodeVisible,
  recordingScope,
  sshPermissions,
} from './access.ts';
import { type Role, RoleSchema } from './schema.ts';

const role = (doc: unknown): Role => v.parse(RoleSchema, doc);

const dev = role({
  metadata: { name: 'dev' },
  spec: {
    options: { max_session_ttl: '8h', forward_agent: true },
    allow: {
      logins: ['{{internal.logins}}', 'ubuntu', '{{external.unix_groups}}'],
      node_labels: { env: ['dev', 'staging'], team: '^plat.*$' },
    },
    deny: { logins: ['root'] },
  },
});
const prodBlock = role({ metadata: { name: 'no-prod' }, spec: { deny: { node_labels: { env: 'prod' } } } });
const auditor = role({
  metadata: { name: 'auditor' },
  spec: {
    options: { max_session_ttl: '1h', forward_agent: false },
    allow: { rules: [{ resources: ['audit'], verbs: ['list'] }] },
    deny: { rules: [{ resources: ['user'], verbs: ['*'] }] },
  },
});
const rootish = role({
  metadata: { name: 'rootish' },
  spec: {
    allow: { logins: ['root', 'alice'], node_labels: { '*': '*' }, rules: [{ resources: ['*'], verbs: ['*'] }] },
  },
});
const traits = { logins: ['alice'], unix_groups: ['builders'] };

describe('roles', () => {
  test('logins expand trait templates and deny wins, in the order given', () => {
    expect(allowedLogins([dev], traits)).toEqual(['alice', 'ubuntu', 'builders']);
    expect(allowedLogins([dev, rootish], traits)).toEqual(['alice', 'ubuntu', 'builders']);
    expect(allowedLogins([rootish], traits)).toEqual(['root', 'alice']);
    expect(allowedLogins([dev], {})).toEqual(['ubuntu']);
    expect(allowedLogins([dev], { logins: ['zed', 'amy'] })).toEqual(['zed', 'amy', 'ubuntu']);
  });

  test('node access needs a login and matching labels; deny rules win', () => {
    const staging = { env: 'staging', team: 'platform' };
    checkNodeAccess([dev], traits, 'alice', staging);
    expect(() => checkNodeAccess([dev], traits, 'postgres', staging)).toThrow(
      'login "postgres" is not allowed by roles [dev]',
    );
    expect(() => checkNodeAccess([dev], traits, 'alice', { env: 'prod', team: 'platform' })).toThrow(AccessDenied);
    expect(() => checkNodeAccess([dev], traits, 'alice', { env: 'dev', team: 'data' })).toThrow(
      'node labels do not match',
    );
    expect(() => checkNodeAccess([dev, rootish], traits, 'root', staging)).toThrow(
      'login "root" is denied by role "dev"',
    );
    expect(() => checkNodeAccess([rootish, prodBlock], traits, 'alice', { env: 'prod' })).toThrow(
      'denied by role "no-prod"',
    );
    checkNodeAccess([rootish, prodBlock], traits, 'alice', { env: 'dev' });
    expect(nodeVisible([rootish], { env: 'prod' })).toBe(true);
    expect(nodeVisible([rootish, prodBlock], { env: 'prod' })).toBe(false);
    expect(nodeVisible([dev], { env: 'prod', team: 'platform' })).toBe(false);
  });

  test('API rules: allow needed, deny wins', () => {
    checkRule([auditor], 'audit', 'list');
    expect(() => checkRule([auditor], 'audit', 'delete')).toThrow('"delete" on audit is not allowed');
    expect(() => checkRule([auditor, rootish], 'user', 'list')).toThrow('"list" on user is denied by role "auditor"');
    checkRule([rootish], 'token', 'create');
  });

  test('recordings: everyone sees their own sessions, a recording rule shows all, a deny shows none', () => {
    expect(recordingScope([dev], 'list')).toBe('own');
    expect(recordingScope([rootish], 'read')).toBe('all');
    const viewer = role({
      metadata: { name: 'viewer' },
      spec: { allow: { rules: [{ resources: ['recording'], verbs: ['list'] }] } },
    });
    expect(recordingScope([viewer], 'list')).toBe('all');
    expect(recordingScope([viewer], 'read')).toBe('own');
    const blind = role({
      metadata: { name: 'blind' },
      spec: { deny: { rules: [{ resources: ['recording'], verbs: ['*'] }] } },
    });
    expect(recordingScope([rootish, blind], 'read')).toBe('denied');
  });

  test('TTL cap is the smallest max_session_ttl; forwarding needs an allow and no forbid', () => {
    expect(maxSessionTtl([dev, auditor])).toBe(3_600_000);
    expect(maxSessionTtl([rootish])).toBe(12 * 3_600_000);
    expect(sshPermissions([dev])).toEqual({ pty: true, portForwarding: false, agentForwarding: true });
    expect(sshPermissions([dev, auditor]).agentForwarding).toBe(false);
  });

  test('role documents are validated strictly', () => {
    expect(() => role({ metadata: { name: 'x' }, spec: { allow: { login: ['a'] } } })).toThrow();
    expect(() => role({ metadata: { name: 'Bad Name' }, spec: {} })).toThrow();
    expect(() => role({ metadata: { name: 'x' }, spec: { options: { max_session_ttl: 'forever' } } })).toThrow();
  });
});
