import { BadParameter } from '../../core/errors.ts';
import { jsonSafe, terminalSafe, yamlSafe } from '../../core/terminalText.ts';
import type { Output, OutputKind } from './outputSchemas.ts';

export type Format = 'text' | 'json' | 'yaml';

/** The --format flag every listing takes. */
export const formatArg = {
  format: { type: 'string', description: 'Output format: text, json or yaml', default: 'text' },
} as const;

/** Validates a --format value. */
export function formatOf(value: unknown): Format {
  const f = String(value ?? 'text');
  if (f !== 'text' && f !== 'json' && f !== 'yaml')
    throw new BadParameter(`--format must be text, json or yaml (got "${f}")`);
  return f;
}

/**
 * Renders rows as an aligned text table with upper-case headers; an empty list prints a hint instead. Each cell is
 * one line with no terminal control in it, whatever the value held.
 */
export function table(rows: Record<string, unknown>[], columns: string[], empty = 'nothing to show'): string {
  if (rows.length === 0) return empty;
  const cell = (v: unknown) =>
    terminalSafe(v === undefined || v === null ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const heads = columns.map((c) => c.toUpperCase().replace(/_/g, ' '));
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(heads), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/**
 * Prints a command's result as JSON or YAML (the same object), or through `text` for humans. The JSON/YAML output is
 * first checked against the command's schema (cmd/lib/outputSchemas.ts, the documented contract): a mismatch is
 * tp's bug, reported as one. No terminal control reaches the output raw: JSON and YAML escape it, text loses it.
 */
export async function print<K extends OutputKind>(
  format: Format,
  kind: K,
  data: Output<K>,
  text: () => string,
): Promise<void> {
  if (format === 'text') {
    process.stdout.write(`${terminalSafe(text(), { multiline: true })}\n`);
    return;
  }
  const { checkOutput } = await import('./outputSchemas.ts');
  const checked = checkOutput(kind, data);
  if (format === 'json') process.stdout.write(`${jsonSafe(JSON.stringify(checked, null, 2))}\n`);
  else {
    // Loaded only here: the YAML library costs ~100 ms of start-up (`tp kube credentials` runs once per kubectl).
    const { stringify } = await import('yaml');
    process.stdout.write(yamlSafe(stringify(checked)));
  }
}
