import { expect, test } from 'bun:test';
import type { AuditInput } from '../audit/events.ts';
import { AccessDenied, Locked, Unauthenticated } from '../errors.ts';
import { presetRoles } from '../rbac/index.ts';
import { createAuthorizer } from './authorizer.ts';
import type { Identity } from './identity.ts';
import type { StoredLock } from './locks.ts';

function setup(locked: string[] = []) {
  const events: AuditInput[] = [];
  const roles = presetRoles();
  const authz = createAuthorizer({
    roles: { rolesOf: async (names) => roles.filter((r) => names.includes(r.metadata.name)) },
    locks: {
      find: async (s) =>
        s.user && locked.includes(s.user)
          ? ({ id: 'l1', target: { user: s.user }, message: 'laptop lost' } as StoredLock)
          : undefined,
    },
    emit: async (e) => {
      events.push(e);
      return { ...e, id: String(events.length), code: '', time: '', cluster: 'c', success: e.success ?? true } as never;
    },
  });
  return { authz, events };
}

const who = (kind: Identity['kind'], name: string, roles: string[] = []): Identity => ({ kind, name, roles });

test('admins may do anything and anonymous callers nothing, with nothing audited', async () => {
  const { authz, events } = setup();
  await authz.authorize(who('admin', 'root'), 'user', 'delete');
  await expect(authz.authorize(who('anonymous', ''), 'node', 'list')).rejects.toBeInstanceOf(Unauthenticated);
  expect(events).toEqual([]);
});

test('system identities get their grants only, and a refusal is audited with the action', async () => {
  const { authz, events } = setup();
  await authz.authorize(who('proxy', 'p1'), 'login');
  await authz.authorize(who('node', 'n1'), 'recording', 'create');
  await expect(authz.authorize(who('node', 'n1'), 'user', 'list')).rejects.toBeInstanceOf(AccessDenied);
  expect(events).toEqual([
    { type: 'auth.attempt', success: false, user: 'n1', error: 'node may not user.list', action: 'user.list' },
  ]);
});

test("users get their roles' rules; proxy-only actions and denials are audited; a locked user is refused first", async () => {
  const { authz, events } = setup(['lena']);
  await authz.authorize(who('user', 'ada', ['admin']), 'user', 'delete');
  await expect(authz.authorize(who('user', 'bo', ['access']), 'user', 'delete')).rejects.toBeInstanceOf(AccessDenied);
  await expect(authz.authorize(who('user', 'bo', ['admin']), 'login')).rejects.toThrow('login is for proxies');
  expect(events.map((e) => [e.user, e.action])).toEqual([
    ['bo', 'user.delete'],
    ['bo', 'login'],
  ]);
  await expect(authz.authorize(who('user', 'lena', ['admin']), 'node', 'list')).rejects.toBeInstanceOf(Locked);
  await expect(authz.refuseLocked(who('user', 'lena'))).rejects.toThrow('user "lena" is locked: laptop lost');
  await authz.refuseLocked(who('user', 'ada'));
});
