import type { SectionSpec } from '../config/sections.ts';
import { TpError } from '../errors.ts';
import type { PluginDefinition, ProxyNames } from './types.ts';

/** A lazily imported plugin module (`plugins/index.ts` lists one per line). */
export type PluginLoader = () => Promise<{ default: PluginDefinition<never> }>;

/** The plugins a process runs, by name, ALPN id and kind: what the proxy router, tunnel and agent ask. */
export class PluginRegistry {
  private readonly byName = new Map<string, PluginDefinition<never>>();
  private readonly byAlpn = new Map<string, PluginDefinition<never>>();

  /** Builds a registry; a duplicate name or ALPN id is a start-up error naming both plugins. */
  constructor(defs: PluginDefinition<never>[]) {
    for (const d of defs) {
      const twin = this.byName.get(d.name);
      if (twin) throw new TpError(`plugin name "${d.name}" is registered twice`);
      this.byName.set(d.name, d);
      for (const id of d.alpn) {
        const other = this.byAlpn.get(id);
        if (other) throw new TpError(`ALPN id "${id}" is claimed by plugins "${other.name}" and "${d.name}"`);
        this.byAlpn.set(id, d);
      }
    }
  }

  /** Every plugin, in registration order. */
  all(): PluginDefinition<never>[] {
    return [...this.byName.values()];
  }

  /** The plugin named `name`, or undefined. */
  get(name: string): PluginDefinition<never> | undefined {
    return this.byName.get(name);
  }

  /** The plugin answering ALPN id `id`, or undefined. */
  forAlpn(id: string): PluginDefinition<never> | undefined {
    return this.byAlpn.get(id);
  }

  /** The first plugin claiming TLS server name `name` (its `sni`), or undefined. */
  forServerName(name: string, proxy: ProxyNames): PluginDefinition<never> | undefined {
    const lower = name.toLowerCase();
    return this.all().find((d) => d.sni?.(lower, proxy));
  }

  /** The plugins serving resource kind `kind`. */
  ofKind(kind: string): PluginDefinition<never>[] {
    return this.all().filter((d) => d.kind === kind);
  }

  /** The tp.yaml sections the plugins read, one per key (plugins of one kind share theirs). */
  sections(): SectionSpec[] {
    const out = new Map<string, SectionSpec>();
    for (const d of this.all()) {
      if (!d.section) continue;
      const had = out.get(d.section.key);
      if (had && had.list !== d.section.list)
        throw new TpError(
          `plugins disagree on the list of tp.yaml section "${d.section.key}": ${had.list} or ${d.section.list}`,
        );
      out.set(d.section.key, d.section);
    }
    return [...out.values()];
  }

  /** Every ALPN id, for the proxy's TLS server. */
  alpnIds(): string[] {
    return [...this.byAlpn.keys()];
  }
}

/** Imports every listed plugin and builds the registry (a duplicate is a start-up error). */
export async function loadRegistry(loaders: PluginLoader[]): Promise<PluginRegistry> {
  const defs = await Promise.all(loaders.map(async (load) => (await load()).default));
  return new PluginRegistry(defs);
}
