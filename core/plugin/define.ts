import type { PluginDefinition } from './types.ts';

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Returns the plugin definition unchanged after checking its name and ALPN ids are well formed. The entry type `C`
 * is checked here, inside the definition (config schema, claims, agent agree); the result is the erased form the
 * registry holds (`PluginLoader`), since the core only passes entries the plugin's own schema made.
 */
export function definePlugin<C>(def: PluginDefinition<C>): PluginDefinition<never> {
  if (!NAME.test(def.name)) throw new TypeError(`plugin name "${def.name}" must be lowercase letters, digits or "-"`);
  if (!NAME.test(def.kind)) throw new TypeError(`plugin "${def.name}": kind "${def.kind}" is not a valid kind name`);
  for (const id of def.alpn)
    if (!/^[a-z0-9][a-z0-9./-]{0,63}$/.test(id)) throw new TypeError(`plugin "${def.name}": bad ALPN id "${id}"`);
  return def as unknown as PluginDefinition<never>;
}
