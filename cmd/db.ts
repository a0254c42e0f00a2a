import { defineCommand } from 'citty';
import { dbPlugin, findDatabase, protocolOf } from '../core/client/dbResources.ts';
import { runningTunnel, saveRoute } from '../core/client/dbRoutes.ts';
import { resolveDbTarget } from '../core/client/dbTarget.ts';
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter, NotFound } from '../core/errors.ts';
import { dbRouteArgs, openDbTunnel, pluginRegistry, routeFlags } from './dbTunnel.ts';
import { action } from './lib/context.ts';

const nameArg = { type: 'positional', required: true, description: 'The database, as tp db ls names it' } as const;

const login = defineCommand({
  meta: {
    name: 'login',
    description:
      'Remember the database user and database name to use for a database\n' +
      'Kept with your profile; no password: connections use your tp certificate.\n' +
      'Examples:\n  tp db login pg1 --db-user alice --db-name postgres\n  tp db connect pg1',
  },
  args: { name: nameArg, ...dbRouteArgs },
  run: action(async (args) => {
    const p = requireProfile();
    const t = await resolveDbTarget(p, await pluginRegistry(), args.name, routeFlags(args));
    saveRoute(p, t.db.name, { user: t.user, ...(t.database && { database: t.database }) });
    process.stdout.write(
      `${t.db.name} (${protocolOf(t.db)}): connecting as ${t.user}` +
        `${t.database ? ` to database ${t.database}` : ''}.\n` +
        `Connect: tp db connect ${t.db.name}    Tunnel for other clients: tp proxy db ${t.db.name} --tunnel\n`,
    );
  }),
});

const connect = defineCommand({
  meta: {
    name: 'connect',
    description:
      'Run psql or mariadb against a database through a tunnel\n' +
      "The client's exit status is tp's; arguments after -- go to the client.\n" +
      'Examples:\n' +
      '  tp db connect pg1 --db-user alice\n' +
      '  tp db connect pg1 --db-user alice -- -Atc "select current_user"\n' +
      '  tp db connect maria1 --db-user alice --db-name shop -- -e "select current_user()"',
  },
  args: {
    name: nameArg,
    ...dbRouteArgs,
    client_args: {
      type: 'positional',
      required: false,
      valueHint: 'CLIENT_ARGS...',
      description: 'Arguments for the client (after --)',
    },
  },
  run: async ({ args, rawArgs }) => {
    const dash = rawArgs.indexOf('--');
    const extra = dash >= 0 ? rawArgs.slice(dash + 1) : [];
    const before = (args._ as string[]).length - extra.length;
    if (before > 1) throw new BadParameter('client arguments go after --: tp db connect NAME -- ARGS...');
    const { runClient } = await import('./dbConnect.ts');
    const errors: string[] = [];
    const t = await openDbTunnel(args.name, routeFlags(args), 0, (m) => errors.push(m));
    const code = await runClient(t, extra).finally(() => t.tunnel.close());
    // Why the tunnel refused a connection, unless the client printed it (plugins with a refusal message).
    if (code !== 0 && !t.target.plugin.client.refusal) for (const m of errors) process.stderr.write(`${m}\n`);
    process.exit(code);
  },
});

const env = defineCommand({
  meta: {
    name: 'env',
    description:
      'Print environment lines for the running tunnel of a database\n' +
      'PGHOST, PGPORT ... for PostgreSQL; MYSQL_HOST, MYSQL_TCP_PORT for MySQL.\n' +
      'Examples:\n  tp proxy db pg1 --tunnel --db-user alice &\n  eval "$(tp db env pg1)" && psql',
  },
  args: { name: nameArg },
  run: action(async (args) => {
    const p = requireProfile();
    const running = runningTunnel(p, args.name);
    if (!running)
      throw new NotFound(
        `no tunnel to ${args.name} is running: start one with tp proxy db ${args.name} --tunnel (it runs until Ctrl+C)`,
        { name: args.name },
      );
    const db = await findDatabase(p, args.name);
    const { client } = await dbPlugin(await pluginRegistry(), db);
    const vars = client.env({ ...running });
    process.stdout.write(
      Object.entries(vars)
        .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
        .join(''),
    );
  }),
});

/** A value as a POSIX shell reads it back unchanged. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

export default defineCommand({
  meta: { name: 'db', description: 'Databases: list them, connect with psql or mariadb, or through a local tunnel' },
  subCommands: { ls: () => import('./dbLs.ts').then((m) => m.default), login, connect, env },
});
