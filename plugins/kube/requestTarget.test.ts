import { expect, test } from 'bun:test';
import { requestInfo } from './requestTarget.ts';

test('requestInfo reads kind, namespace, name and verb as the API server does', () => {
  expect(requestInfo('GET', '/api/v1/namespaces/default/pods', 'limit=500')).toEqual({
    verb: 'list',
    target: { kind: 'pods', namespace: 'default', name: '', subresource: '', verb: 'list' },
  });
  expect(requestInfo('GET', '/api/v1/pods', 'watch=true').target).toMatchObject({
    kind: 'pods',
    namespace: '',
    verb: 'watch',
  });
  expect(requestInfo('GET', '/api/v1/watch/namespaces/x/pods', '').target).toMatchObject({
    namespace: 'x',
    verb: 'watch',
  });
  expect(requestInfo('POST', '/api/v1/namespaces/d/pods/p1/exec', 'command=sh').target).toMatchObject({
    kind: 'pods',
    name: 'p1',
    subresource: 'exec',
    verb: 'exec',
  });
  expect(requestInfo('GET', '/api/v1/namespaces/d/pods/p1/portforward', '').target?.verb).toBe('portforward');
  expect(requestInfo('POST', '/api/v1/namespaces/d/pods/p1/attach', '').target?.verb).toBe('exec');
  expect(requestInfo('GET', '/api/v1/namespaces/d/pods/p1/log', 'follow=true').target?.verb).toBe('get');
  expect(requestInfo('DELETE', '/apis/apps/v1/namespaces/d/deployments', '').target).toMatchObject({
    kind: 'deployments',
    verb: 'deletecollection',
  });
  expect(requestInfo('GET', '/api/v1/namespaces/prod', '').target).toMatchObject({
    kind: 'namespaces',
    name: 'prod',
    namespace: '',
  });
  expect(requestInfo('GET', '/api/v1/nodes/n1', '').target).toMatchObject({ kind: 'nodes', name: 'n1', namespace: '' });
  for (const p of ['/version', '/api', '/apis', '/api/v1', '/apis/apps/v1', '/openapi/v3', '/healthz'])
    expect(requestInfo('GET', p, '').target).toBeUndefined();
});
