// `tp bot start --db NAME --db-user U`: DIR/db/NAME/ tells a CI step how to reach one database as the bot. The tp
// way is a tunnel carrying the bot's certificate (renewed in DIR/identity), so the directory holds no credential:
// a script that runs the stock client through a tunnel of its own, one that serves a tunnel on a chosen port, and
// a README with the connection line and environment for that tunnel.
import { join } from 'node:path';
import type { DbTarget } from '../client/dbTarget.ts';
import { privateDir } from '../config/privateDir.ts';
import { BadParameter } from '../errors.ts';
import { writeAtomic } from './outputs.ts';

/** The files `writeBotDbOutputs` writes in DIR/db/NAME/. */
export const BOT_DB_FILES = ['README', 'connect.sh', 'tunnel.sh'] as const;

/** The port the README's example tunnel listens on. */
const EXAMPLE_PORT = 5544;

/** A string quoted for a POSIX shell. */
const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Throws BadParameter unless the listing says the bot's roles grant `target.user` on the database. */
export function checkBotDbUser(target: DbTarget): void {
  const granted = target.db.principals ?? [];
  if (granted.includes('*') || granted.includes(target.user)) return;
  const allowed = granted.length ? granted.join(', ') : 'none';
  throw new BadParameter(
    `the bot's roles do not allow database user "${target.user}" on ${target.db.name} (allowed: ${allowed})`,
    { name: target.db.name },
  );
}

/**
 * Writes DIR/db/<name>/ (0700; files 0600, each atomically) for `target`: connect.sh runs the protocol's stock
 * client through a private tunnel (its arguments go to the client, its exit status is the client's), tunnel.sh
 * serves a tunnel on the port it is given, README says both. `tp` is the command line that runs tp. Returns the
 * directory.
 */
export function writeBotDbOutputs(dir: string, target: DbTarget, tp: string[]): string {
  const name = target.db.name;
  const out = join(dir, 'db', name);
  privateDir(join(dir, 'db'), 'bot database outputs');
  privateDir(out, 'bot database outputs');
  const route = ['--db-user', target.user, ...(target.database ? ['--db-name', target.database] : [])];
  const tpLine = [...tp, '-i', join(dir, 'identity')].map(sh).join(' ');
  const protocol = typeof target.db.spec.protocol === 'string' ? target.db.spec.protocol : target.db.plugin;
  const program = target.plugin.client.command({ host: '127.0.0.1', port: 0, user: target.user }, []).program;
  const at = { host: '127.0.0.1', port: EXAMPLE_PORT, user: target.user, database: target.database };
  const as = `as database user ${target.user}${target.database ? `, database ${target.database}` : ''}`;
  writeAtomic(
    join(out, 'connect.sh'),
    [
      '#!/bin/sh',
      `# tp bot: runs ${program} on ${name} (${protocol}) ${as}, through a tunnel of its own with the bot's identity.`,
      `# Arguments go to ${program}; its exit status is this script's. Usage: sh ${join(out, 'connect.sh')} ARGS...`,
      `exec ${tpLine} db connect ${sh(name)} ${route.map(sh).join(' ')} -- "$@"`,
      '',
    ].join('\n'),
  );
  writeAtomic(
    join(out, 'tunnel.sh'),
    [
      '#!/bin/sh',
      `# tp bot: serves ${name} (${protocol}) ${as} on 127.0.0.1:PORT until stopped (0: a free port, printed).`,
      `# Usage: sh ${join(out, 'tunnel.sh')} PORT &`,
      `exec ${tpLine} proxy db ${sh(name)} --tunnel --port "\${1:-0}" ${route.map(sh).join(' ')}`,
      '',
    ].join('\n'),
  );
  const env = Object.entries(target.plugin.client.env(at)).map(([k, v]) => `  export ${k}=${sh(v)}`);
  writeAtomic(
    join(out, 'README'),
    [
      `Database ${name} (${protocol}) ${as}, for tp bot ${JSON.stringify(dir)}.`,
      '',
      `Connections go through a tp tunnel with the bot's identity (${join(dir, 'identity')}, renewed while`,
      'tp bot start runs); no database password or key is kept here. The database sees the user above, authenticated',
      'by a short-lived certificate the tp agent gets for each connection; every statement is in the tp audit log.',
      '',
      `Run ${program} once (a CI step), arguments passed on:`,
      `  sh ${sh(join(out, 'connect.sh'))} ${program === 'psql' ? `-Atc 'select current_user'` : `-e 'select current_user()'`}`,
      '',
      `Or serve a tunnel for other clients (here on port ${EXAMPLE_PORT}):`,
      `  sh ${sh(join(out, 'tunnel.sh'))} ${EXAMPLE_PORT} &`,
      `  ${target.plugin.client.connectHint(at)}`,
      'with this environment for libraries and tools:',
      ...env,
      '',
    ].join('\n'),
  );
  return out;
}
