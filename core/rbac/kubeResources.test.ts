import { describe, expect, test } from 'bun:test';
import { AccessDenied } from '../errors.ts';
import { checkKubeResource, globMatch, type KubeResourceRule, type KubeResourceTarget } from './kubeResources.ts';
import type { Role } from './schema.ts';

const role = (name: string, allow?: KubeResourceRule[], deny?: KubeResourceRule[]): Role => ({
  kind: 'role',
  version: 'v1',
  metadata: { name },
  spec: {
    options: {},
    allow: { kubernetes_labels: { '*': '*' }, ...(allow ? { kubernetes_resources: allow } : {}) },
    deny: deny ? { kubernetes_resources: deny } : {},
  },
});
const t = (verb: string, kind: string, namespace: string, name = ''): KubeResourceTarget => ({
  verb,
  kind,
  namespace,
  name,
});
const allowed = (roles: Role[], target: KubeResourceTarget) => {
  try {
    checkKubeResource(roles, roles, target);
    return true;
  } catch (err) {
    if (err instanceof AccessDenied) return false;
    throw err;
  }
};

describe('kubernetes_resources', () => {
  test('globs: * is any run of characters, everything else literal', () => {
    expect(globMatch('web-*', 'web-1')).toBe(true);
    expect(globMatch('web-*', 'api-1')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('p(1)', 'p(1)')).toBe(true);
  });

  test('a role without the field allows every object; with it, only what a rule covers', () => {
    expect(allowed([role('open')], t('delete', 'secrets', 'prod', 's'))).toBe(true);
    const dev = [role('dev', [{ kind: 'pods', namespace: 'dev', verbs: ['get', 'list', 'exec'] }])];
    expect(allowed(dev, t('get', 'pods', 'dev', 'p1'))).toBe(true);
    expect(allowed(dev, t('exec', 'pods', 'dev', 'p1'))).toBe(true);
    expect(allowed(dev, t('portforward', 'pods', 'dev', 'p1'))).toBe(false);
    expect(allowed(dev, t('get', 'pods', 'prod', 'p1'))).toBe(false);
    expect(allowed(dev, t('get', 'secrets', 'dev', 's'))).toBe(false);
    expect(allowed(dev, t('list', 'pods', 'dev'))).toBe(true);
  });

  test('a list the rules only partly allow is refused: all namespaces with one allowed, or some names only', () => {
    const dev = [role('dev', [{ kind: 'pods', namespace: 'dev', verbs: ['list'] }])];
    expect(allowed(dev, t('list', 'pods', ''))).toBe(false);
    const web = [role('web', [{ kind: 'pods', namespace: '*', name: 'web-*', verbs: ['get', 'list'] }])];
    expect(allowed(web, t('get', 'pods', 'x', 'web-1'))).toBe(true);
    expect(allowed(web, t('list', 'pods', 'x'))).toBe(false);
    const all = [role('all', [{ kind: '*', verbs: ['*'] }])];
    expect(allowed(all, t('list', 'pods', ''))).toBe(true);
  });

  test('deny wins, and a deny touching part of a list refuses the list', () => {
    const roles = [
      role('all', [{ kind: '*', verbs: ['*'] }]),
      role('no-exec', undefined, [{ kind: 'pods', namespace: 'prod', name: 'db-*', verbs: ['exec'] }]),
    ];
    expect(allowed(roles, t('exec', 'pods', 'prod', 'db-0'))).toBe(false);
    expect(allowed(roles, t('exec', 'pods', 'prod', 'web-0'))).toBe(true);
    expect(allowed(roles, t('get', 'pods', 'prod', 'db-0'))).toBe(true);
    const noSecrets = [
      role('all', [{ kind: '*', verbs: ['*'] }]),
      role('s', undefined, [{ kind: 'secrets', namespace: 'kube-system', verbs: ['get', 'list'] }]),
    ];
    expect(allowed(noSecrets, t('list', 'secrets', ''))).toBe(false);
    expect(allowed(noSecrets, t('list', 'secrets', 'default'))).toBe(true);
    expect(() => checkKubeResource(noSecrets, noSecrets, t('list', 'secrets', ''))).toThrow(
      'kubernetes_resources of role "s" deny "list" on secrets across all namespaces',
    );
  });

  test('the refusal names the verb, object and namespace', () => {
    const dev = [role('dev', [{ kind: 'pods', namespace: 'dev', verbs: ['get'] }])];
    expect(() => checkKubeResource(dev, dev, t('exec', 'pods', 'dev', 'p1'))).toThrow(
      'kubernetes_resources of your roles do not allow "exec" on pods/p1 in namespace "dev"',
    );
  });
});
