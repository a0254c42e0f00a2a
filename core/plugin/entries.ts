import * as v from 'valibot';
import { ConfigError } from '../config/load.ts';
import type { SectionConfig } from '../config/sections.ts';
import type { PluginRegistry } from './registry.ts';
import type { PluginDefinition } from './types.ts';

/** One raw section entry and where it came from, for errors (`tp.yaml: db.databases.1`, `--db pg1=...`). */
interface RawEntry {
  entry: unknown;
  where: string;
}

/** The raw entries of every section: the file's, then one per `--<flag> VALUE` (the first plugin to parse it). */
function rawEntries(
  registry: PluginRegistry,
  sections: Record<string, SectionConfig>,
  flags: Record<string, string[]>,
): Map<string, RawEntry[]> {
  const out = new Map<string, RawEntry[]>();
  for (const spec of registry.sections()) {
    const s = sections[spec.key];
    const entries = s?.enabled === false ? [] : (s?.entries ?? []);
    out.set(
      spec.key,
      entries.map((entry, i) => ({ entry, where: `${spec.key}.${spec.list}.${i}` })),
    );
  }
  for (const [name, values] of Object.entries(flags)) {
    const parsers = registry.all().filter((d) => d.flag?.name === name);
    for (const value of values) {
      const where = `--${name} ${value}`;
      const d = parsers.find((p) => p.flag?.parse(value) !== undefined);
      if (!d?.section) throw new ConfigError(`${where}: not understood by any plugin of this build`);
      out.get(d.section.key)?.push({ entry: d.flag!.parse(value), where });
    }
  }
  return out;
}

/**
 * Which plugins an agent runs and with which entries: a plugin without a section always (no entries); a plugin with
 * one when its section (or a flag) gives it entries. Each entry goes to the first plugin of its section that claims
 * it and is validated by that plugin's `config`; an entry nobody claims, an invalid one, or a name used twice in a
 * section is a ConfigError naming where it came from.
 */
export function pluginEntries(
  registry: PluginRegistry,
  sections: Record<string, SectionConfig> = {},
  flags: Record<string, string[]> = {},
): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const d of registry.all()) if (!d.section) out.set(d.name, []);
  for (const [key, list] of rawEntries(registry, sections, flags)) {
    const mine = registry.all().filter((d) => d.section?.key === key);
    const names = new Set<string>();
    for (const { entry, where } of list) {
      const d = claimer(mine, entry);
      if (!d)
        throw new ConfigError(
          `${where}: no plugin serves this entry (plugins of "${key}": ${mine.map((p) => p.name).join(', ')})`,
        );
      const parsed = d.config ? v.safeParse(d.config, entry) : { success: true as const, output: entry };
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const field = issue.path?.map((p: { key: unknown }) => String(p.key)).join('.');
        throw new ConfigError(`${where}${field ? `.${field}` : ''}: ${issue.message} (plugin ${d.name})`);
      }
      const name = (parsed.output as { name?: unknown }).name;
      if (typeof name === 'string') {
        if (names.has(name)) throw new ConfigError(`${where}: the name "${name}" is used twice in "${key}"`);
        names.add(name);
      }
      out.set(d.name, [...(out.get(d.name) ?? []), parsed.output]);
    }
  }
  return out;
}

/** The plugin of a section that takes a raw entry: the first whose `claims` says yes (a lone plugin takes all). */
function claimer(plugins: PluginDefinition<never>[], entry: unknown): PluginDefinition<never> | undefined {
  if (plugins.length === 1 && !plugins[0]!.claims) return plugins[0];
  return plugins.find((p) => {
    const claims = p.claims as ((e: unknown) => boolean) | undefined;
    return !!claims && claims(entry);
  });
}
