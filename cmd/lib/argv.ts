import type { ArgDef, ArgsDef } from 'citty';
import { BadParameter } from '../../core/errors.ts';

/** What a command's run() receives: named values by declared name, every positional in `_`. */
export type ParsedArgv = { _: string[] } & Record<string, string | boolean | string[] | undefined>;

/** The parse result: the values, or a request for the command's help. */
export type ArgvResult = { help: true } | { help: false; args: ParsedArgv };

const repeatables = new WeakSet<ArgDef>();

/** Marks a string option as repeatable: each `--flag value` adds to a list (`string[]`) instead of replacing. */
export function repeatable<D extends ArgDef>(def: D): D {
  repeatables.add(def);
  return def;
}

/** The values of a repeatable option as parsed (none, one or several). */
export function allValues(value: unknown): string[] {
  return value === undefined ? [] : [value].flat().map(String);
}

/** True for positional declarations whose value hint ends in "...": they take every remaining operand. */
export function isVariadic(def: ArgDef): boolean {
  return def.type === 'positional' && !!def.valueHint?.endsWith('...');
}

/** The flag spellings of a declared option: `--name` and each alias (`-f` for one letter, `--long` otherwise). */
export function flagSpellings(name: string, def: ArgDef): string[] {
  const aliases = 'alias' in def && def.alias ? [def.alias].flat() : [];
  return [`--${name}`, ...aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
}

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours count one each). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** The candidate closest to a mistyped word (a prefix of it, or within a third of its length in edits), if any. */
export function suggest(word: string, candidates: string[]): string | undefined {
  const bare = (s: string) => s.replace(/^-+/, '');
  const w = bare(word);
  if (!w) return undefined;
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = bare(c).startsWith(w) && w.length >= 2 ? 0.5 : distance(w, bare(c));
    if (d <= Math.max(1, Math.floor(bare(c).length / 3)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** "unknown flag --usr; did you mean --user?" */
function unknownFlag(flag: string, known: string[]): BadParameter {
  const near = suggest(flag, known);
  return new BadParameter(`unknown flag ${flag}${near ? `; did you mean ${near}?` : ''}`, { flag });
}

/**
 * Parses argv strictly against a command's declared args: unknown flags, missing values, missing required
 * arguments and unexpected operands are `BadParameter`s naming what is wrong. `--` ends the options; `-h`/`--help`
 * anywhere before it asks for help.
 */
export function parseArgv(argv: string[], defs: ArgsDef): ArgvResult {
  const options = new Map<string, { name: string; def: ArgDef }>();
  for (const [name, def] of Object.entries(defs))
    if (def.type !== 'positional') for (const s of flagSpellings(name, def)) options.set(s, { name, def });
  const known = [...options.keys(), '--help'];
  const values: ParsedArgv = { _: [] };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const negated = flag.startsWith('--no-') ? options.get(`--${flag.slice(5)}`) : undefined;
    if (!options.has(flag) && negated?.def.type === 'boolean' && inline === undefined) {
      values[negated.name] = false;
      continue;
    }
    const opt = options.get(flag);
    if (!opt) throw unknownFlag(flag, known);
    if (opt.def.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false')
        throw new BadParameter(`${flag} takes no value (got "${inline}")`);
      values[opt.name] = inline !== 'false';
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new BadParameter(`${flag} needs a value`);
      value = next;
      i++;
    }
    if (opt.def.type === 'enum' && opt.def.options && !opt.def.options.includes(value))
      throw new BadParameter(`${flag} must be one of ${opt.def.options.join(', ')} (got "${value}")`);
    const prev = values[opt.name];
    values[opt.name] = repeatables.has(opt.def) && prev !== undefined ? [...allValues(prev), value] : value;
  }
  values._ = operands;
  let next = 0;
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === 'positional') {
      if (next < operands.length) values[name] = operands[next];
      else if (def.required) throw new BadParameter(`missing argument ${name.toUpperCase()} (${def.description})`);
      next = isVariadic(def) ? operands.length : next + 1;
      continue;
    }
    if (values[name] === undefined && def.default !== undefined) values[name] = def.default as string | boolean;
    if (values[name] === undefined && def.required) throw new BadParameter(`missing ${flagSpellings(name, def)[0]}`);
  }
  if (next < operands.length) throw new BadParameter(`unexpected argument "${operands[next]}"`);
  return { help: false, args: values };
}
