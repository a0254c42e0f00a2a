import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// core/auth's modules form a tree of services over stores: none imports a module that imports it back, type-only
// imports included (service.ts composes the services; no service reaches back into it).
const DIR = import.meta.dir;
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const abs = join(dir, name);
    if (statSync(abs).isDirectory()) return sources(abs);
    return /\.tsx?$/.test(name) ? [abs] : [];
  });
}

/** The import graph of core/auth: each file (relative to it) to the core/auth files it imports. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(DIR)) {
    const targets = [...readFileSync(file, 'utf8').matchAll(IMPORT)]
      .map((m) => resolve(dirname(file), m[1]!))
      .filter((t) => !relative(DIR, t).startsWith('..'))
      .map((t) => relative(DIR, t));
    g.set(relative(DIR, file), targets);
  }
  return g;
}

/** Every import cycle of `g`, each as the path that closes it (`a.ts -> b.ts -> a.ts`), found once per back edge. */
export function cycles(g: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of g.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...g.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('core/auth imports', () => {
  test('no module of core/auth imports one that imports it back', () => {
    const g = graph();
    expect(g.get('service.ts')?.length).toBeGreaterThan(5); // the parser sees the imports
    expect(cycles(g)).toEqual([]);
  });

  test('the check finds a direct and an indirect cycle', () => {
    const g = new Map([
      ['service.ts', ['certOps.ts', 'cas.ts']],
      ['certOps.ts', ['service.ts']],
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['cas.ts', []],
    ]);
    expect(cycles(g)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts', 'certOps.ts -> service.ts -> certOps.ts']);
  });
});
