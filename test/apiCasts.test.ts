import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiClient } from '../core/api/client.ts';

// Answers from another process are parsed, never cast (STYLE.md "Answers are parsed too"): every ApiClient call
// names a schema or a parse function, and every document read from the backend is checked by one. These rules
// scan the sources for the shapes a cast takes, so one cannot come back unnoticed.

const ROOT = resolve(import.meta.dir, '..');

function sources(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs)) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.tsx?$/.test(name)) out.push(rel);
  }
  return out;
}

const FILES = ['core', 'cmd', 'plugins', 'test'].flatMap(sources).filter((f) => f !== 'test/apiCasts.test.ts');

/** The places in the tree where `pattern` matches, as `file:line: text`. */
function offences(pattern: RegExp): string[] {
  const out: string[] = [];
  for (const file of FILES) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (pattern.test(line)) out.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

const RULES: { name: string; pattern: RegExp }[] = [
  // `api.call<T>(...)`: the cast overload ApiClient had before answers were parsed.
  { name: 'a call<T> cast of an answer', pattern: /\.call<[^>]*>\s*\(/ },
  // `api.get<T>('/v1/...')`, `post<T>(\`/webapi/...\`)`: a type argument, then a path where a schema belongs.
  { name: 'a get/post/del<T> cast of an answer', pattern: /\.(get|post|del|send)<[^(]*>\(\s*['"`]\// },
  // `getDoc<T>(b, key)` / `listDocs<T>(b, prefix)`: a stored document typed by assertion instead of a schema.
  { name: 'an untyped backend document read', pattern: /(?<!function )\b(getDoc|listDocs)<[^(]*>\(/ },
  // `JSON.parse(item.value) as T`: the cast getDoc replaced, written by hand.
  { name: 'a backend value cast', pattern: /JSON\.parse\(\s*\w+\.value\s*\)\s+as\s/ },
];

describe('answers and stored documents are parsed, not cast', () => {
  for (const rule of RULES) {
    test(`no ${rule.name}`, () => {
      expect(offences(rule.pattern)).toEqual([]);
    });
  }

  test('the rules catch the shapes they name', () => {
    const cases: [string, string][] = [
      ['a call<T> cast of an answer', "await api.call<{ revision?: number }>('POST', '/v1/nodes', body)"],
      ['a get/post/del<T> cast of an answer', "api.get<NodeRecord[]>('/v1/nodes')"],
      ['a get/post/del<T> cast of an answer', 'api.post<{ token: string }>(`/v1/tokens`, {})'],
      ['an untyped backend document read', "await getDoc<StoredUser>(this.b, '/users/x')"],
      ['an untyped backend document read', "listDocs<Role>(this.b, '/roles/')"],
      ['a backend value cast', 'JSON.parse(item.value) as T'],
    ];
    for (const [name, line] of cases) {
      expect(RULES.find((r) => r.name === name)!.pattern.test(line)).toBe(true);
    }
    // A generic that is not an answer cast stays allowed.
    expect(RULES.some((r) => r.pattern.test("replica.get<Role>('role', n)"))).toBe(false);
  });
});

// Checked by `tsc --noEmit` (CI): if ApiClient grows a cast overload again, these lines compile and the
// expectations of an error fail. Never called.
export function apiClientHasNoCast(api: ApiClient): unknown[] {
  return [
    // @ts-expect-error an answer cannot be cast: name a schema or a parse function
    api.get<{ name: string }[]>('/v1/users'),
    // @ts-expect-error as above, for POST
    api.post<{ token: string }>('/v1/tokens', {}),
    // @ts-expect-error the cast overload is gone
    api.call<{ ok: true }>('GET', '/v1/ping'),
  ];
}
