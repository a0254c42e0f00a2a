import type { ArgDef, ArgsDef } from 'citty';
import { flagSpellings, isVariadic } from './argv.ts';

/** A command that reads its own argv (like ssh's options-then-destination-then-command), with the help it shows. */
export interface RawArgsHelp {
  /** The line after "Usage: ", without "tp NAME". */
  usage: string;
  /** Option spellings and what they do, in the order shown. */
  options: [string, string][];
}

/** Marks a command whose run() parses argv itself; the runner passes argv through untouched. */
export const RAW_ARGS = Symbol('tp.rawArgs');

/** Thrown by a raw-args command's own parser when it meets -h/--help where options go. */
export class HelpWanted extends Error {}

/** What the help printer needs to know about one command. */
export interface HelpSubject {
  /** Full command path, e.g. ["tp", "ca", "start"]. */
  path: string[];
  description?: string;
  args?: ArgsDef;
  raw?: RawArgsHelp;
  /** Subcommand names with one-line summaries. */
  commands?: [string, string][];
  /** Options the runner itself handles here (e.g. --version at the top), listed before --help. */
  runnerOptions?: [string, string][];
}

/** Lines of a two-column list, the second column aligned, continuation lines indented under it. */
function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.flatMap(([a, b]) => {
    const [first = '', ...more] = b.split('\n');
    return [`  ${a.padEnd(width)}  ${first}`, ...more.map((m) => `  ${' '.repeat(width)}  ${m}`)];
  });
}

/** How an option is written in help: "-f, --file FILE". */
function optionLabel(name: string, def: ArgDef): string {
  const spellings = flagSpellings(name, def);
  const ordered = [...spellings.filter((s) => !s.startsWith('--')), ...spellings.filter((s) => s.startsWith('--'))];
  const word = def.type === 'enum' ? def.options?.join('|') : name.toUpperCase().replace(/-/g, '_');
  const hint = def.type === 'boolean' ? '' : ` ${def.valueHint ?? word}`;
  return `${ordered.join(', ')}${hint}`;
}

/** What an option's help says: its description, its choices and a non-empty default. */
function optionText(def: ArgDef): string {
  const dflt = def.default;
  const extras = [
    def.required ? 'required' : '',
    dflt !== undefined && dflt !== '' && dflt !== false ? `default: ${dflt}` : '',
  ].filter(Boolean);
  return `${def.description ?? ''}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** The usage line: `tp ca start [options]`, positionals by name. */
export function usageLine(s: HelpSubject): string {
  if (s.raw) return `${s.path.join(' ')} ${s.raw.usage}`;
  if (s.commands?.length) return `${s.path.join(' ')} <command> [options]`;
  const defs = Object.entries(s.args ?? {});
  const operands = defs
    .filter(([, d]) => d.type === 'positional')
    .map(([n, d]) => {
      const word = `${n.toUpperCase()}${isVariadic(d) ? '...' : ''}`;
      return d.required ? word : `[${word}]`;
    });
  const hasOptions = defs.some(([, d]) => d.type !== 'positional');
  return [...s.path, ...(hasOptions ? ['[options]'] : []), ...operands].join(' ');
}

/** Full help text, plain (no colour), no trailing spaces, ending in a newline. */
export function renderHelp(s: HelpSubject): string {
  const out: string[] = [];
  if (s.description) out.push(s.description, '');
  out.push(`Usage: ${usageLine(s)}`);
  const defs = Object.entries(s.args ?? {});
  const positionals = defs.filter(([, d]) => d.type === 'positional');
  if (positionals.length)
    out.push('', 'Arguments:', ...columns(positionals.map(([n, d]) => [n.toUpperCase(), optionText(d)])));
  const options: [string, string][] = s.raw
    ? s.raw.options
    : defs.filter(([, d]) => d.type !== 'positional').map(([n, d]) => [optionLabel(n, d), optionText(d)]);
  options.push(...(s.runnerOptions ?? []), ['-h, --help', 'Show this help']);
  out.push('', 'Options:', ...columns(options));
  if (s.commands?.length) {
    out.push('', 'Commands:', ...columns(s.commands));
    out.push('', `Run \`${s.path.join(' ')} <command> --help\` for a command's options.`);
  }
  return `${out.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** The short form for errors: the usage line and where to read more. */
export function shortUsage(s: HelpSubject): string {
  return `usage: ${usageLine(s)}\nRun \`${s.path.join(' ')} --help\` for more.\n`;
}

/**
 * One help text for a flag several plugins declare (`--db` of db-postgres and db-mysql): texts that differ only
 * between their first ", " and a common "(...)" tail read as one sentence with "or"; others are joined with "; or".
 */
export function mergeFlagHelp(helps: string[]): string {
  const parts = helps.map((h) => /^(.*?, )(.*?)( \([^)]*\))?$/.exec(h));
  const head = parts[0]?.[1];
  const tail = parts[0]?.[3] ?? '';
  if (helps.length > 1 && parts.every((p) => p && p[1] === head && (p[3] ?? '') === tail))
    return `${head}${parts.map((p) => p![2]).join(' or ')}${tail}`;
  return helps.join('; or ');
}
