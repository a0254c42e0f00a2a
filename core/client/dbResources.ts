// The databases a user may reach, as the proxy lists them (`GET /webapi/resources?kind=db`), and the plugin that
// speaks each one's protocol (picked through the registry by the listed `plugin`, never by a protocol switch).
import * as v from 'valibot';
import { ApiClient } from '../api/client.ts';
import { type ListedResource, ListedResourceSchema } from '../api/resourceSchemas.ts';
import { NotFound, Unavailable } from '../errors.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import type { PluginClient, PluginDefinition } from '../plugin/types.ts';
import { type Profile, profileTexts } from './profile.ts';

/** A database as the user's listing shows it: one row per name, with the db users the roles grant (`principals`). */
export type ListedDb = ListedResource;

/** The databases the profile's roles let it see, by name. */
export async function listDatabases(p: Profile): Promise<ListedDb[]> {
  const t = profileTexts(p);
  // The profile's own CAs: it may be an identity file the environment does not name (tp bot start --db).
  const api = new ApiClient([p.proxy], { ca: t.cas, cert: t.tlsCert, key: t.tlsKey, serverRole: 'proxy' });
  const rows = await api.send(v.array(ListedResourceSchema), 'GET', '/webapi/resources?kind=db');
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** The protocol a listed database speaks (`postgres`), from its spec, or its plugin's name. */
export function protocolOf(db: ListedDb): string {
  return typeof db.spec.protocol === 'string' ? db.spec.protocol : db.plugin;
}

/** The database named `name`; NotFound lists the ones the user may reach. */
export async function findDatabase(p: Profile, name: string): Promise<ListedDb> {
  const all = await listDatabases(p);
  const db = all.find((d) => d.name === name);
  if (db) return db;
  const known = all.length ? `; your roles let you reach: ${all.map((d) => d.name).join(', ')}` : '';
  throw new NotFound(`no database "${name}" you may reach${known} (tp db ls lists them)`, { name });
}

/** A database's plugin, with its client module loaded. */
export interface DbPlugin {
  def: PluginDefinition<never>;
  /** The ALPN id its connections use. */
  alpn: string;
  client: PluginClient;
}

/** The plugin serving `db` and its client side; Unavailable when this tp build lacks it. */
export async function dbPlugin(registry: PluginRegistry, db: ListedDb): Promise<DbPlugin> {
  const def = registry.get(db.plugin);
  const alpn = def?.alpn[0];
  if (!def || !alpn || !def.commands)
    throw new Unavailable(
      `database "${db.name}" speaks ${protocolOf(db)} (plugin ${db.plugin}), which this tp build has no client for`,
      { plugin: db.plugin },
    );
  return { def, alpn, client: (await def.commands()).default };
}
