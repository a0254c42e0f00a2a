import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { isMysqlEntry, MysqlDatabaseSchema, parseDbFlag, serverAddress } from './config.ts';

describe('db-mysql config', () => {
  test('an entry parses with labels defaulting to none; other protocols are not claimed', () => {
    const e = v.parse(MysqlDatabaseSchema, { name: 'maria1', protocol: 'mysql', uri: '127.0.0.1:3306' });
    expect(e.labels).toEqual({});
    expect(isMysqlEntry(e)).toBe(true);
    expect(isMysqlEntry({ name: 'pg1', protocol: 'postgres', uri: 'x' })).toBe(false);
  });

  test('uri is host:port or mysql://host[:port], 3306 by default', () => {
    expect(serverAddress({ name: 'a', uri: '127.0.0.1:3307' })).toEqual({ host: '127.0.0.1', port: 3307 });
    expect(serverAddress({ name: 'a', uri: 'mysql://db.internal' })).toEqual({ host: 'db.internal', port: 3306 });
    expect(serverAddress({ name: 'a', uri: 'mysql://[::1]:3308/' })).toEqual({ host: '::1', port: 3308 });
    expect(() => serverAddress({ name: 'a', uri: 'mysql://u:p@h:1' })).toThrow('database "a": uri');
    expect(() => serverAddress({ name: 'a', uri: 'h:99999' })).toThrow('is not host:port');
  });

  test('--db takes mysql:// values only', () => {
    expect(parseDbFlag('maria1=mysql://127.0.0.1:3306')).toEqual({
      name: 'maria1',
      protocol: 'mysql',
      uri: 'mysql://127.0.0.1:3306',
    });
    expect(parseDbFlag('pg1=postgres://127.0.0.1:5432')).toBeUndefined();
  });
});
