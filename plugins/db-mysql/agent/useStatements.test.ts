import { describe, expect, test } from 'bun:test';
import { useTargets } from './useStatements.ts';

describe('USE statements in query text', () => {
  test('finds each USE at a statement start, unquoting names', () => {
    expect(useTargets('use app')).toEqual(['app']);
    expect(useTargets('  USE `my``db`;select 1')).toEqual(['my`db']);
    expect(useTargets('select 1; use secret; select 2')).toEqual(['secret']);
    expect(useTargets('/* lead */ use /* mid */ secret')).toEqual(['secret']);
    expect(useTargets('-- c\nuse a;\n# c\nuse b')).toEqual(['a', 'b']);
  });

  test('executable comments are code, as the server runs them', () => {
    expect(useTargets('/*!40101 use secret */')).toEqual(['secret']);
    expect(useTargets('/*M!100101 use secret */; select 1')).toEqual(['secret']);
  });

  test('USE inside strings, identifiers and plain comments, or not at a statement start, is not a USE', () => {
    expect(useTargets("select 'x; use secret'")).toEqual([]);
    expect(useTargets('select "a\\"; use secret"')).toEqual([]);
    expect(useTargets('select `;use secret`')).toEqual([]);
    expect(useTargets('/* use secret */ select 1')).toEqual([]);
    expect(useTargets('select use from t')).toEqual([]);
    expect(useTargets('select 1 -- ; use secret')).toEqual([]);
    expect(useTargets('user_defined()')).toEqual([]);
  });
});
