import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { kubeGrants, kubeImpersonation, kubePolicy } from './kube.ts';
import { type Role, RoleSchema } from './schema.ts';

const role = (doc: unknown): Role => v.parse(RoleSchema, doc);

const dev = role({
  metadata: { name: 'dev' },
  spec: {
    allow: {
      kubernetes_labels: { env: 'dev' },
      kubernetes_users: ['{{internal.kube_users}}'],
      kubernetes_groups: ['{{internal.kube_groups}}', 'viewers'],
    },
  },
});
const noMasters = role({
  metadata: { name: 'no-masters' },
  spec: { deny: { kubernetes_groups: ['system:masters'], kubernetes_users: ['root'] } },
});
const noProd = role({ metadata: { name: 'no-prod' }, spec: { deny: { kubernetes_labels: { env: 'prod' } } } });
const traits = { kube_users: ['alice'], kube_groups: ['devs', 'system:masters'] };
const devK = { env: 'dev' };

describe('kubernetes access', () => {
  test('grants expand trait templates; a denied group is removed (deny wins)', () => {
    expect(kubeGrants([dev, noMasters], traits, devK)).toEqual({ users: ['alice'], groups: ['devs', 'viewers'] });
    expect(kubeImpersonation([dev, noMasters], traits, devK, 'alice@x')).toEqual({
      user: 'alice',
      groups: ['devs', 'viewers'],
    });
  });

  test('--as and --as-group are honoured only within the grants', () => {
    const two = { ...traits, kube_users: ['alice', 'ops', 'root'] };
    expect(() => kubeImpersonation([dev], two, devK, 'a')).toThrow('choose one with kubectl --as');
    expect(kubeImpersonation([dev], two, devK, 'a', { user: 'ops', groups: ['devs'] })).toEqual({
      user: 'ops',
      groups: ['devs'],
    });
    expect(() => kubeImpersonation([dev, noMasters], two, devK, 'a', { user: 'root' })).toThrow(
      'impersonating user "root" is not allowed',
    );
    expect(() => kubeImpersonation([dev, noMasters], traits, devK, 'a', { groups: ['system:masters'] })).toThrow(
      'impersonating group "system:masters" is not allowed',
    );
  });

  test('groups only: the request runs as the tp user; no grants or denied labels refuse', () => {
    const groupsOnly = { kube_groups: ['devs'] };
    expect(kubeImpersonation([dev], groupsOnly, devK, 'alice@x')).toEqual({
      user: 'alice@x',
      groups: ['devs', 'viewers'],
    });
    expect(() => kubeImpersonation([dev], traits, { env: 'prod' }, 'a')).toThrow('kubernetes_labels');
    expect(() => kubeImpersonation([dev, noProd], traits, { env: 'prod' }, 'a')).toThrow('kubernetes_labels');
    const bare = role({ metadata: { name: 'bare' }, spec: { allow: { kubernetes_labels: { '*': '*' } } } });
    expect(() => kubeImpersonation([bare], {}, devK, 'a')).toThrow('no kubernetes_users or kubernetes_groups');
  });

  test('the kind policy shows a cluster by kubernetes_labels, deny wins', () => {
    const rec = { kind: 'kube', name: 'k1', labels: devK, plugin: 'kube', hostId: 'h', spec: {}, lastSeen: '' };
    expect(() => kubePolicy.check([dev], traits, rec, undefined)).not.toThrow();
    expect(() => kubePolicy.check([dev], traits, { ...rec, labels: { env: 'prod' } }, undefined)).toThrow(
      'access to kubernetes cluster "k1" is not allowed',
    );
    expect(kubePolicy.principals?.([dev], traits, rec)).toEqual(['alice']);
  });
});
