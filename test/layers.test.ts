import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The import order the tree keeps (README, "Layers"). Top level: cmd → plugins → core; core imports neither, and
// nothing but tests (test/ and *.test.ts) imports test/. The web app (web/) reaches outside itself only for core/api's wire schemas, and
// only through modules that use no Node/Bun API.
//
// Inside core, concerns are stacked lowest first. A module may import any module of a lower layer, never one of
// its own layer's other concerns and never a higher one; inside one concern (one directory) anything goes.
const CORE_LAYERS: readonly (readonly string[])[] = [
  ['terminalText', 'clock', 'ids'], // leaf helpers
  ['errors', 'log'], // typed errors, the logger
  ['net', 'config', 'crypto'], // addresses and limits, tp.yaml and the data dir, keys/certs
  ['backend', 'rbac', 'web', 'tunnel', 'state'], // storage, roles, HTTP plumbing, the tunnel mux, replicas
  ['api'], // the auth API's wire schemas and typed client
  ['audit', 'identity'], // audit log and recordings; a host's identity and CA rotation following
  ['auth'], // the auth service
  ['ssh', 'plugin'], // SSH node and client plumbing (enforces auth's locks); the protocol plugin contract
  ['client', 'agent', 'desktop'], // the user's side of the auth API; the node agent; what desktop plugins share
  ['proxy', 'bot'], // the one-port proxy (joins, relays to agents, serves the web app); machine users' runner
  ['compose'], // builds a cluster from tp.yaml
];

// Edges that break the order today, each with the reason it has not moved yet. The test fails when one is gone,
// so the list only shrinks.
const KNOWN_EXCEPTIONS: readonly { from: string; to: string; reason: string }[] = [];

const ROOT = resolve(import.meta.dir, '..');
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;

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

/** Every import specifier of a file, with relative ones resolved to a path from the repository root. */
function importsOf(file: string): { spec: string; target: string | undefined }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    const spec = m[1]!;
    return { spec, target: spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : undefined };
  });
}

const top = (path: string) => path.split('/')[0]!;
/** The core concern a path belongs to: its directory under core/, or a file's name for core/*.ts. */
const concern = (path: string) => {
  const parts = path.split('/');
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/(\.test)?\.tsx?$/, '');
};
const isTest = (file: string) => /\.test\.tsx?$/.test(file);
const layerOf = new Map(CORE_LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

/** The rule an import from `file` to `target` breaks, or undefined when it is allowed. */
function violation(file: string, target: string): string | undefined {
  const [from, to] = [top(file), top(target)];
  if (to === 'test' && from !== 'test' && !isTest(file)) return 'only tests import test/';
  if (from === 'core' && (to === 'cmd' || to === 'plugins')) return `core never imports ${to}/`;
  if (from === 'plugins' && to === 'cmd') return 'plugins never import cmd/';
  if (from !== 'core' || to !== 'core' || isTest(file)) return undefined;
  const [a, b] = [concern(file), concern(target)];
  if (a === b) return undefined;
  const [la, lb] = [layerOf.get(a), layerOf.get(b)];
  if (la === undefined || lb === undefined) return `core/${la === undefined ? a : b} is in no layer of CORE_LAYERS`;
  if (lb === la) return `core/${a} and core/${b} share a layer and must not import each other`;
  if (lb > la) return `core/${a} (layer ${la}) imports the higher core/${b} (layer ${lb})`;
  return undefined;
}

const FILES = ['core', 'cmd', 'plugins'].flatMap(sources);

describe('layers', () => {
  test('every core concern is declared in exactly one layer', () => {
    const declared = CORE_LAYERS.flat();
    expect(new Set(declared).size).toBe(declared.length);
    const present = [...new Set(FILES.filter((f) => top(f) === 'core').map(concern))];
    expect(present.filter((c) => !layerOf.has(c))).toEqual([]);
  });

  test('no import goes against cmd → plugins → core or the declared core order', () => {
    const found: string[] = [];
    const excepted = new Set<string>();
    for (const file of FILES) {
      for (const { target } of importsOf(file)) {
        if (!target) continue;
        const why = violation(file, target);
        if (!why) continue;
        const known = KNOWN_EXCEPTIONS.find((e) => e.from === file && e.to === target);
        if (known) excepted.add(`${file} -> ${target}`);
        else found.push(`${file} -> ${target}: ${why}`);
      }
    }
    expect(found).toEqual([]);
    // A listed exception that no longer occurs is stale: drop it from the list.
    expect(KNOWN_EXCEPTIONS.map((e) => `${e.from} -> ${e.to}`).filter((e) => !excepted.has(e))).toEqual([]);
  });

  test('the rule catches a back-edge, an undeclared concern and an import of cmd/ from core', () => {
    expect(violation('core/auth/x.ts', 'core/agent/join.ts')).toContain('imports the higher core/agent');
    expect(violation('core/client/x.ts', 'core/agent/x.ts')).toContain('share a layer');
    expect(violation('core/newthing/x.ts', 'core/errors.ts')).toContain('core/newthing is in no layer');
    expect(violation('core/proxy/x.ts', 'cmd/lib/context.ts')).toBe('core never imports cmd/');
    expect(violation('cmd/ls.ts', 'core/auth/api.ts')).toBeUndefined();
    expect(violation('core/auth/x.ts', 'test/helpers/cluster.ts')).toBe('only tests import test/');
    expect(violation('core/proxy/x.ts', 'core/auth/api.ts')).toBeUndefined();
  });

  test('the web app imports only core/api modules that use no Node or Bun API', () => {
    const seen = new Set<string>();
    const queue = sources('web').flatMap((f) =>
      importsOf(f)
        .map((i) => i.target)
        .filter((t): t is string => t !== undefined && top(t) !== 'web'),
    );
    const bad: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      if (!file.startsWith('core/api/')) {
        bad.push(`${file}: outside core/api`);
        continue;
      }
      for (const { spec, target } of importsOf(file)) {
        if (target) queue.push(target);
        else if (spec !== 'valibot') bad.push(`${file} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
