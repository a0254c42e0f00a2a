import { existsSync, readFileSync } from 'node:fs';
import * as v from 'valibot';
import type { Document, LineCounter } from 'yaml';
import { BadParameter } from '../errors.ts';
import { type Config, ConfigSchema, KNOWN_KEYS } from './schema.ts';
import { type SectionConfig, type SectionSpec, sectionSchema } from './sections.ts';
import { quickYaml } from './yamlQuick.ts';

/** The `yaml` library, loaded only to word an error or to settle what the quick parse would not (yamlQuick.ts). */
const yamlLib = (): typeof import('yaml') => require('yaml');

/** A config error pointing at the file and line, with a hint when one helps. */
export class ConfigError extends BadParameter {}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function suggest(key: string, parent: string, keys: Record<string, string[]>): string {
  const known = keys[parent] ?? [];
  const best = known.map((k) => [k, distance(key, k)] as const).sort((x, y) => x[1] - y[1])[0];
  const where = parent ? `under "${parent}"` : 'at the top level';
  if (best && best[1] <= 3) return ` (did you mean "${best[0]}"?)`;
  return known.length ? ` (known keys ${where}: ${known.join(', ')})` : '';
}

/**
 * Parses tp.yaml text; throws ConfigError naming `file:line` for syntax errors, unknown keys and bad values.
 * `sections` are the plugins' top-level sections (core/plugin `section`): their entries land in `sections`.
 */
export function parseConfig(text: string, file = 'tp.yaml', sections: SectionSpec[] = []): Config {
  const quick = quickYaml(text);
  const raw = (quick === undefined ? exactParse(text, file).doc.toJS() : quick) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${file}:1: the config must be a mapping of keys`);
  const known = { ...KNOWN_KEYS, '': [...KNOWN_KEYS['']!, ...sections.map((s) => s.key)] };
  const fail = (issue: v.BaseIssue<unknown>, prefix: string[]) => {
    const { doc, lines } = exactParse(text, file);
    return configIssue(doc, lines, file, known, issue, prefix);
  };
  const core: Record<string, unknown> = { ...raw };
  const found: Record<string, SectionConfig> = {};
  for (const spec of sections) {
    if (!(spec.key in core) || found[spec.key]) continue;
    const r = v.safeParse(sectionSchema(spec), core[spec.key] ?? {});
    if (!r.success) fail(r.issues[0], [spec.key]);
    else found[spec.key] = { enabled: r.output.enabled as boolean, entries: r.output[spec.list] as unknown[] };
    delete core[spec.key];
  }
  const result = v.safeParse(ConfigSchema, core);
  if (!result.success) fail(result.issues[0], []);
  const cfg: Config = result.output as Config;
  if (Object.keys(found).length) cfg.sections = found;
  return cfg;
}

/** Parses with the `yaml` library (unique keys, positions); throws ConfigError naming `file:line` on a syntax error. */
function exactParse(text: string, file: string): { doc: Document; lines: LineCounter } {
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    throw new ConfigError(`${file}:${pos.line}: ${e.message.split('\n')[0]}`);
  }
  return { doc, lines };
}

/** Throws the ConfigError for one schema issue: `file:line`, the dotted key, and a hint for unknown keys. */
function configIssue(
  doc: Document,
  lines: LineCounter,
  file: string,
  known: Record<string, string[]>,
  issue: v.BaseIssue<unknown>,
  prefix: string[],
): never {
  const path = [...prefix, ...(issue.path ?? []).map((p: { key: unknown }) => String(p.key))];
  let line = 1;
  // Point at the key itself for unknown keys, at the value otherwise.
  const parentNode = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (yamlLib().isMap(parentNode)) {
    const pair = parentNode.items.find((p) => String((p.key as { value?: unknown })?.value) === path.at(-1));
    // A missing key points at its parent mapping.
    const node = (pair?.key ?? pair?.value ?? parentNode) as { range?: [number, number] } | undefined;
    if (node?.range) line = lines.linePos(node.range[0]).line;
  }
  const dotted = path.join('.');
  const isUnknownKey = issue.expected === 'never';
  if (isUnknownKey) {
    const key = path.at(-1) ?? '';
    throw new ConfigError(
      `${file}:${line}: unknown key "${dotted}"${suggest(key, path.slice(0, -1).join('.'), known)}`,
    );
  }
  if (issue.received === 'undefined') throw new ConfigError(`${file}:${line}: missing required key "${dotted}"`);
  throw new ConfigError(`${file}:${line}: invalid value for "${dotted}": ${issue.message}`);
}

/** Reads and parses a config file; a missing file is an error naming it. */
export function loadConfig(file: string, sections: SectionSpec[] = []): Config {
  if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
  return parseConfig(readFileSync(file, 'utf8'), file, sections);
}
