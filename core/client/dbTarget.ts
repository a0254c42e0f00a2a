// One database connection's route, decided once: which database, which db user and database name (flags, else what
// `tp db login` remembered, else the one user the roles grant), and how to dial it through the proxy.
import type { Duplex } from 'node:stream';
import { BadParameter } from '../errors.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import { type DbPlugin, dbPlugin, findDatabase, type ListedDb } from './dbResources.ts';
import { savedRoute } from './dbRoutes.ts';
import { dialPlugin } from './pluginDial.ts';
import type { Profile } from './profile.ts';

/** A database to connect to, as whom, through which plugin. */
export interface DbTarget {
  db: ListedDb;
  plugin: DbPlugin;
  user: string;
  database?: string;
}

/** What the command line said about the route (absent: remembered or default). */
export interface DbRouteFlags {
  dbUser?: string;
  dbName?: string;
}

/** The one db user a listing grants by name, when it grants exactly one (and not any). */
function onlyUser(db: ListedDb): string | undefined {
  const users = db.principals ?? [];
  return users.length === 1 && users[0] !== '*' && !users[0]!.includes('{{') ? users[0] : undefined;
}

/**
 * Resolves `name` to a listed database and its plugin, and the db user: --db-user, else the remembered route, else
 * the only user the roles grant; with none of those, a BadParameter saying which users the roles allow.
 */
export async function resolveDbTarget(
  p: Profile,
  registry: PluginRegistry,
  name: string,
  flags: DbRouteFlags,
): Promise<DbTarget> {
  const db = await findDatabase(p, name);
  const plugin = await dbPlugin(registry, db);
  const saved = savedRoute(p, name);
  const user = flags.dbUser ?? saved?.user ?? onlyUser(db);
  if (!user) {
    const granted = db.principals ?? [];
    const allowed = granted.includes('*') ? 'any user' : granted.join(', ') || 'none';
    throw new BadParameter(
      `choose the database user for ${name} with --db-user (your roles allow: ${allowed}), or remember one with ` +
        `tp db login ${name} --db-user USER`,
      { name },
    );
  }
  return { db, plugin, user, database: flags.dbName ?? saved?.database };
}

/** Opens one connection to the target through the proxy (principal = the db user), ready for protocol bytes. */
export function dialDb(p: Profile, t: DbTarget): () => Promise<Duplex> {
  const route: Record<string, string> = { db_user: t.user, ...(t.database && { db_name: t.database }) };
  return async () => (await dialPlugin(p, { alpn: t.plugin.alpn, target: t.db.name, principal: t.user, route })).sock;
}
