// `tp proxy db NAME --tunnel`: a loopback listener for stock database clients, each connection carried to the database
// through the proxy with the user's certificate. `tp db connect` opens the same tunnel for one client run.
import { defineCommand } from 'citty';
import { protocolOf } from '../core/client/dbResources.ts';
import { type DbRouteFlags, type DbTarget, dialDb, resolveDbTarget } from '../core/client/dbTarget.ts';
import { type LocalTunnel, startLocalTunnel } from '../core/client/localTunnel.ts';
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter, describe } from '../core/errors.ts';
import { loadRegistry, type PluginRegistry } from '../core/plugin/registry.ts';
import type { LocalEndpoint } from '../core/plugin/types.ts';
import { action } from './lib/context.ts';
import { runUntilSignal } from './lib/daemon.ts';

/** The route flags `tp db login|connect` and `tp proxy db` share. */
export const dbRouteArgs = {
  'db-user': { type: 'string', description: 'Database user to connect as (default: from tp db login)' },
  'db-name': { type: 'string', description: 'Database name (default: from tp db login, else the server default)' },
} as const;

/** The route flags as the resolver takes them. */
export const routeFlags = (args: { 'db-user'?: string; 'db-name'?: string }): DbRouteFlags => ({
  dbUser: args['db-user'] || undefined,
  dbName: args['db-name'] || undefined,
});

/** The protocol plugins of this build (their client modules load only for the database in use). */
export async function pluginRegistry(): Promise<PluginRegistry> {
  const { PLUGINS } = await import('../plugins/index.ts');
  return loadRegistry(PLUGINS);
}

/** A tunnel open for one database, and the endpoint its stock clients use. */
export interface DbTunnel {
  target: DbTarget;
  tunnel: LocalTunnel;
  at: LocalEndpoint;
}

/**
 * Resolves `name` and opens a loopback tunnel to it (`port` 0: a free one). Each connection re-reads the profile, so
 * a `tp login` while it runs is picked up and an expired certificate refuses with what to do.
 */
export async function openDbTunnel(
  name: string,
  flags: DbRouteFlags,
  port: number,
  onError: (message: string) => void,
): Promise<DbTunnel> {
  const target = await resolveDbTarget(requireProfile(), await pluginRegistry(), name, flags);
  const tunnel = await startLocalTunnel({
    port,
    dial: () => dialDb(requireProfile(), target)(),
    refusal: target.plugin.client.refusal,
    onError: (err, from) => onError(`tp: connection from ${from} to ${name} refused: ${describe(err)}`),
  });
  return { target, tunnel, at: { host: tunnel.host, port: tunnel.port, user: target.user, database: target.database } };
}

/** A --port value: a TCP port number, 0 meaning any free one. */
export function portArg(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new BadParameter(`--port must be a port number (got "${value}")`);
  return port;
}

export default defineCommand({
  meta: {
    name: 'db',
    description:
      'Run a local tunnel to a database for stock clients (psql, mariadb, GUI tools)\n' +
      'They connect to 127.0.0.1 in plain text; tp carries each connection over TLS with your certificate.\n' +
      'Runs until Ctrl+C.\n' +
      'Examples:\n' +
      '  tp proxy db pg1 --tunnel --db-user alice --port 5544\n' +
      '  psql "host=127.0.0.1 port=5544 user=alice dbname=postgres sslmode=disable"\n' +
      '  tp proxy db maria1 --tunnel --db-user alice --db-name shop     (then: eval "$(tp db env maria1)")',
  },
  args: {
    name: { type: 'positional', required: true, description: 'The database, as tp db ls names it' },
    tunnel: { type: 'boolean', description: 'Listen on loopback for plain-text clients (the only mode)' },
    port: { type: 'string', description: 'Local port to listen on (default: a free one)' },
    ...dbRouteArgs,
  },
  run: action(async (args) => {
    if (!args.tunnel)
      throw new BadParameter(`tp proxy db runs a local tunnel: add --tunnel (tp proxy db ${args.name} --tunnel)`);
    const port = portArg(args.port);
    const { recordTunnel } = await import('../core/client/dbRoutes.ts');
    await runUntilSignal(
      async () => {
        const t = await openDbTunnel(args.name, routeFlags(args), port, (m) => process.stderr.write(`${m}\n`));
        const forget = recordTunnel(requireProfile(), args.name, { pid: process.pid, ...t.at });
        return {
          t,
          close: async () => {
            forget();
            await t.tunnel.close();
          },
        };
      },
      ({ t }) => {
        const { db, plugin } = t.target;
        process.stdout.write(
          `Tunnel to ${db.name} (${protocolOf(db)}) as ${t.at.user} on ${t.at.host}:${t.at.port}. ` +
            'Connect with:\n' +
            `  ${plugin.client.connectHint(t.at)}\n` +
            `Environment for other clients: eval "$(tp db env ${db.name})". Ctrl+C stops the tunnel.\n`,
        );
      },
    );
  }),
});
