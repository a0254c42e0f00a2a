import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { AccessDenied } from '../errors.ts';
import { allowedDbUsers, checkDbAccess, dbVisible } from './db.ts';
import { dbPolicy } from './dbPolicy.ts';
import { presetRoles } from './role.ts';
import { type Role, RoleSchema } from './schema.ts';

const role = (doc: unknown): Role => v.parse(RoleSchema, doc);

const dev = role({
  metadata: { name: 'dev' },
  spec: {
    allow: {
      db_labels: { env: ['dev', 'staging'] },
      db_users: ['{{internal.db_users}}', 'reader'],
      db_names: ['{{internal.db_names}}', 'app'],
    },
  },
});
const anyDb = role({
  metadata: { name: 'anydb' },
  spec: { allow: { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] } },
});
const noProd = role({ metadata: { name: 'no-prod' }, spec: { deny: { db_labels: { env: 'prod' } } } });
const noSuper = role({
  metadata: { name: 'no-super' },
  spec: { deny: { db_users: ['postgres'], db_names: ['{{internal.secret_dbs}}'] } },
});
const traits = { db_users: ['alice'], db_names: ['alicedb'], secret_dbs: ['payroll'] };
const devDb = { env: 'dev' };

describe('database access', () => {
  test('user and name come from templates or literals, on matching labels', () => {
    checkDbAccess([dev], traits, devDb, 'alice', 'alicedb');
    checkDbAccess([dev], traits, devDb, 'reader', 'app');
    checkDbAccess([dev], { db_users: ['bob', 'carol'] }, devDb, 'carol', 'app');
    expect(() => checkDbAccess([dev], {}, devDb, 'alice', 'app')).toThrow(
      'database user "alice" is not allowed by roles [dev]; allowed users: reader',
    );
  });

  test('each cause has its own message, listing what is allowed', () => {
    expect(() => checkDbAccess([dev], traits, { env: 'prod' }, 'alice', 'app')).toThrow(
      'database labels do not match any of roles [dev]',
    );
    expect(() => checkDbAccess([dev], traits, devDb, 'mallory', 'app')).toThrow(
      'database user "mallory" is not allowed by roles [dev]; allowed users: alice, reader',
    );
    expect(() => checkDbAccess([dev], traits, devDb, 'alice', 'payroll')).toThrow(
      'database name "payroll" is not allowed for user "alice" by roles [dev]; allowed names: alicedb, app',
    );
    expect(() => checkDbAccess([dev], traits, devDb, 'alice', 'payroll')).toThrow(AccessDenied);
  });

  test('deny wins over any allow', () => {
    checkDbAccess([anyDb], traits, { env: 'prod' }, 'postgres', 'payroll');
    expect(() => checkDbAccess([anyDb, noProd], traits, { env: 'prod' }, 'alice', 'app')).toThrow(
      'access to this database is denied by role "no-prod"',
    );
    expect(() => checkDbAccess([anyDb, noSuper], traits, devDb, 'postgres', 'app')).toThrow(
      'database user "postgres" is denied by role "no-super"',
    );
    expect(() => checkDbAccess([anyDb, noSuper], traits, devDb, 'alice', 'payroll')).toThrow(
      'database name "payroll" is denied by role "no-super"',
    );
    checkDbAccess([anyDb, noSuper], traits, devDb, 'alice', 'app');
    expect(allowedDbUsers([anyDb, noSuper], traits, devDb)).toEqual(['*']);
    expect(allowedDbUsers([anyDb, noProd], traits, { env: 'prod' })).toEqual([]);
  });

  test('user, name and labels must be granted by the same role', () => {
    const prodReader = role({
      metadata: { name: 'prod-reader' },
      spec: { allow: { db_labels: { env: 'prod' }, db_users: ['reader'], db_names: ['reports'] } },
    });
    expect(() => checkDbAccess([dev, prodReader], traits, { env: 'prod' }, 'alice', 'reports')).toThrow(
      'database user "alice" is not allowed by roles [dev, prod-reader]; allowed users: reader',
    );
    checkDbAccess([dev, prodReader], traits, { env: 'prod' }, 'reader', 'reports');
    expect(() => checkDbAccess([dev, prodReader], traits, { env: 'prod' }, 'reader', 'app')).toThrow(
      'allowed names: reports',
    );
  });

  test('an empty database is the user name (PostgreSQL); null checks labels and user only', () => {
    checkDbAccess([dev], { db_users: ['app'] }, devDb, 'app', '');
    expect(() => checkDbAccess([dev], traits, devDb, 'alice', '')).toThrow('database name "alice" is not allowed');
    checkDbAccess([dev], traits, devDb, 'alice', null);
    expect(() => checkDbAccess([dev], traits, devDb, 'bob', null)).toThrow('database user "bob" is not allowed');
  });

  test('visibility and allowed users follow labels, templates and denies', () => {
    expect(dbVisible([dev], devDb)).toBe(true);
    expect(dbVisible([dev], { env: 'prod' })).toBe(false);
    expect(dbVisible([anyDb, noProd], { env: 'prod' })).toBe(false);
    expect(dbVisible([noSuper], devDb)).toBe(false);
    expect(allowedDbUsers([dev], traits, devDb)).toEqual(['alice', 'reader']);
    expect(allowedDbUsers([dev, noSuper], { db_users: ['postgres', 'ann'] }, devDb)).toEqual(['ann', 'reader']);
    expect(allowedDbUsers([dev], traits, { env: 'prod' })).toEqual([]);
  });

  test('preset roles reach every database as the user traits name', () => {
    for (const r of presetRoles()) {
      const roles = [v.parse(RoleSchema, r)];
      expect(dbVisible(roles, { env: 'anything' })).toBe(true);
      expect(allowedDbUsers(roles, traits, {})).toEqual(['alice']);
      checkDbAccess(roles, traits, {}, 'alice', 'alicedb');
      expect(() => checkDbAccess(roles, traits, {}, 'postgres', 'alicedb')).toThrow('not allowed');
    }
  });

  test('role documents validate the database fields', () => {
    expect(() => role({ metadata: { name: 'x' }, spec: { allow: { db_users: 'alice' } } })).toThrow();
    expect(() => role({ metadata: { name: 'x' }, spec: { allow: { db_label: { env: 'dev' } } } })).toThrow();
  });
});

describe('the db kind policy', () => {
  const record = (labels: Record<string, string>) => ({
    kind: 'db',
    name: 'pg1',
    labels,
    plugin: 'db-postgres',
    hostId: 'h1',
    spec: {},
    lastSeen: '',
  });

  test('without a principal it asks visibility; with one, labels and user', () => {
    dbPolicy.check([dev], traits, record(devDb), undefined);
    expect(() => dbPolicy.check([dev], traits, record({ env: 'prod' }), undefined)).toThrow(
      'access to database "pg1" is not allowed by your roles',
    );
    dbPolicy.check([dev], traits, record(devDb), 'alice');
    expect(() => dbPolicy.check([dev], traits, record(devDb), 'mallory')).toThrow('allowed users: alice, reader');
    expect(dbPolicy.principals?.([dev, noSuper], traits, record(devDb))).toEqual(['alice', 'reader']);
    expect(dbPolicy.labelsField).toBe('db_labels');
  });
});
