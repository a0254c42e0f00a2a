import { describe, expect, test } from 'bun:test';
import { BadParameter, NotFound, Unavailable } from '../errors.ts';
import type { ResourceRecord } from '../plugin/types.ts';
import { distinctResources, pickResource } from './resourceResolve.ts';

const rec = (name: string, hostId: string, lastSeen: string, plugin = 'db-postgres'): ResourceRecord => ({
  kind: 'db',
  name,
  labels: {},
  plugin,
  hostId,
  spec: {},
  lastSeen,
});
const up =
  (...hosts: string[]) =>
  (r: ResourceRecord) =>
    hosts.includes(r.hostId);

describe('choosing the agent that serves a resource', () => {
  const a = rec('pg1', 'h-a', '2026-12-01T10:00:00.000Z');
  const b = rec('pg1', 'h-b', '2026-12-01T10:00:05.000Z');
  const other = rec('pg2', 'h-a', '2026-12-01T10:00:09.000Z');

  test('an online agent wins over a fresher offline one; among online ones, the last heard from', () => {
    expect(pickResource([a, b, other], 'db', 'pg1', up('h-a')).hostId).toBe('h-a');
    expect(pickResource([a, b, other], 'db', 'pg1', up('h-a', 'h-b')).hostId).toBe('h-b');
  });

  test('unknown, all offline and two plugins under one name are each their own error', () => {
    expect(() => pickResource([a], 'db', 'nope', up('h-a'))).toThrow(NotFound);
    expect(() => pickResource([a], 'db', 'nope', up('h-a'))).toThrow('db "nope" not found (see `tp db ls`)');
    expect(() => pickResource([a], 'kube', 'pg1', up('h-a'))).toThrow(NotFound);
    expect(() => pickResource([a, b], 'db', 'pg1', up())).toThrow(Unavailable);
    expect(() => pickResource([a, b], 'db', 'pg1', up())).toThrow(
      'no agent serving it is connected (2 known: h-a, h-b)',
    );
    const mysql = rec('pg1', 'h-c', '2026-12-01T10:00:07.000Z', 'db-mysql');
    expect(() => pickResource([a, mysql], 'db', 'pg1', up('h-a', 'h-c'))).toThrow(BadParameter);
    expect(() => pickResource([a, mysql], 'db', 'pg1', up('h-a', 'h-c'))).toThrow('db-postgres, db-mysql');
    expect(pickResource([a, mysql], 'db', 'pg1', up('h-a')).plugin).toBe('db-postgres');
  });

  test('listings show each name once, online if any agent serving it is', () => {
    const rows = distinctResources([a, b, other], up('h-a'));
    expect(rows.map((r) => [r.record.name, r.record.hostId, r.online])).toEqual([
      ['pg1', 'h-a', true],
      ['pg2', 'h-a', true],
    ]);
    expect(distinctResources([a, b], up()).map((r) => [r.record.hostId, r.online])).toEqual([['h-b', false]]);
  });
});
