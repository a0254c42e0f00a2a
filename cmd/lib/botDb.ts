// `tp bot start --db NAME [--db-user U] [--db-name D]`: the flags, and the outputs they ask for, written once the
// bot's identity is on disk (the database is resolved through the proxy as the bot, so a typo fails the CI step).
import { join } from 'node:path';
import { checkBotDbUser, writeBotDbOutputs } from '../../core/bot/dbOutputs.ts';
import { resolveDbTarget } from '../../core/client/dbTarget.ts';
import { profileFromIdentityFile } from '../../core/client/identityFile.ts';
import { dbRouteArgs, pluginRegistry, routeFlags } from '../dbTunnel.ts';

/** The database flags of `tp bot start`. */
export const botDbArgs = {
  db: { type: 'string', description: 'Also write DIR/db/NAME/ for this database (a tunnel with the bot identity)' },
  ...dbRouteArgs,
} as const;

/**
 * Writes DIR/db/NAME/ when `--db` was given: the database must be one the bot's roles list, and the db user one they
 * grant there. Returns the directory written, if any.
 */
export async function writeBotDbFlags(
  args: { db?: string; 'db-user'?: string; 'db-name'?: string },
  out: string,
  tp: string[],
): Promise<string | undefined> {
  if (!args.db) return undefined;
  const profile = profileFromIdentityFile(join(out, 'identity'));
  const target = await resolveDbTarget(profile, await pluginRegistry(), args.db, routeFlags(args));
  checkBotDbUser(target);
  return writeBotDbOutputs(out, target, tp);
}
