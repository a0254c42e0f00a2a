/** One MySQL session on the agent, from the client's first byte to its end: login, commands, audit. */

import type { Duplex } from 'node:stream';
import { AccessDenied, describe, Unavailable } from '../../../core/errors.ts';
import { log } from '../../../core/log.ts';
import type { AgentPluginContext, PluginSession, VerifiedUser } from '../../../core/plugin/types.ts';
import { checkDbAccess } from '../../../core/rbac/db.ts';
import { resolveRoles } from '../../../core/rbac/index.ts';
import type { MysqlDatabase } from '../config.ts';
import { SessionAudit } from './audit.ts';
import { dbClientCert } from './clientCert.ts';
import { relayCommands } from './commands.ts';
import { killThread } from './killThread.ts';
import { logIn } from './login.ts';
import { AGENT_ERROR, DatabaseAccessDenied, messageOf, writeErr } from './replies.ts';

/** How long a client may take from connecting to finishing its login. */
export const LOGIN_TIMEOUT_MS = 30_000;

/** A database this agent serves, as a session needs it. */
export interface ServedDatabase {
  db: MysqlDatabase;
  host: string;
  port: number;
  /** From `ca_file`: the CAs the server's certificate must chain to (else the cluster's db CA). */
  ca?: string[];
}

/** Throws a DatabaseAccessDenied (1045 for the user, 1044 for the database) unless the user's current roles allow. */
function authorizer(ctx: Pick<AgentPluginContext, 'state'>, user: VerifiedUser, db: MysqlDatabase) {
  const roles = () => {
    const all = ctx.state.roles();
    return resolveRoles(user.roles, (n) => all.find((r) => r.metadata.name === n));
  };
  const check = (dbUser: string, dbName: string | null, as: { code: number; sqlState: string }) => {
    try {
      checkDbAccess(roles(), user.traits, db.labels, dbUser, dbName);
    } catch (err) {
      if (!(err instanceof AccessDenied)) throw err;
      throw new DatabaseAccessDenied(err.message, as, { db_user: dbUser, db_name: dbName });
    }
  };
  return {
    user: (dbUser: string) => check(dbUser, null, AGENT_ERROR.accessDenied),
    database: (dbUser: string, dbName: string) => check(dbUser, dbName, AGENT_ERROR.dbAccessDenied),
  };
}

/**
 * Serves one client stream for `served`: refuses it (an ERR the client prints, and an audited refusal) unless the
 * stream carries a verified user whose roles allow the database user and database it names, logs in to the server
 * with a certificate made for that user, then relays and audits commands until either side ends or the session's
 * signal aborts (certificate expiry, a lock, the agent stopping).
 */
export async function serveSession(
  ctx: AgentPluginContext,
  served: ServedDatabase,
  stream: Duplex,
  session: PluginSession,
): Promise<void> {
  const audit = new SessionAudit((events) => ctx.emit(events), {
    user: session.user?.name ?? '',
    session_id: session.id,
    'addr.remote': session.client,
    server_id: ctx.hostId,
    server_name: ctx.nodeName,
    db_service: served.db.name,
    db_protocol: 'mysql',
    db_uri: served.db.uri,
  });
  const user = session.user;
  if (!user) {
    const err = new AccessDenied('this stream carries no verified user certificate');
    writeErr(stream, 0, err);
    audit.start(err.message);
    return;
  }
  const access = authorizer(ctx, user, served.db);
  const login = new AbortController();
  const timer = setTimeout(
    () => login.abort(new Unavailable(`the client did not log in within ${LOGIN_TIMEOUT_MS / 1000} s`)),
    LOGIN_TIMEOUT_MS,
  );
  let loggedIn: Awaited<ReturnType<typeof logIn>>;
  try {
    loggedIn = await logIn({
      client: stream,
      server: {
        host: served.host,
        port: served.port,
        tlsName: served.db.tls_server_name ?? served.host,
        ca: served.ca,
      },
      defaults: { dbUser: session.route.db_user, dbName: session.route.db_name },
      chosen: (dbUser, dbName) => {
        audit.fields.db_user = dbUser;
        if (dbName) audit.fields.db_name = dbName;
      },
      authorize: (dbUser, dbName) => {
        access.user(dbUser);
        if (dbName) access.database(dbUser, dbName);
      },
      certify: (dbUser) =>
        dbClientCert(ctx, user, dbUser, served.db.name).catch((err: unknown) => {
          const why = `could not get a database certificate for "${dbUser}": ${messageOf(err)}`;
          // Auth's refusal (roles, a lock) is a denied login; anything else is the service being unreachable.
          if (err instanceof AccessDenied) throw new DatabaseAccessDenied(why, AGENT_ERROR.accessDenied);
          throw new Unavailable(why, {}, { cause: err });
        }),
      signal: AbortSignal.any([session.signal, login.signal]),
    });
  } catch (err) {
    audit.start(messageOf(err));
    return;
  } finally {
    clearTimeout(timer);
  }
  audit.start();
  const dbUser = loggedIn.dbUser;
  const end = await relayCommands({
    client: stream,
    server: loggedIn.server,
    clientRest: loggedIn.clientRest,
    serverRest: loggedIn.serverRest,
    audit,
    authorizeDb: (dbName) => access.database(dbUser, dbName),
    onDatabase: (dbName) => {
      audit.fields.db_name = dbName;
    },
    signal: session.signal,
  });
  // Closing the connection does not stop a running statement on the server; unless the client quit, stop its thread.
  // The session's database certificate ends with the user's: after that, no side connection can log in.
  if (!end.quit && ctx.clock.now() < user.expires) {
    await killThread(served, loggedIn.tls, dbUser, loggedIn.threadId).catch((err: unknown) => {
      log.warn('could not stop the database thread of an ended session', {
        session: session.id,
        database: served.db.name,
        thread: loggedIn.threadId,
        error: describe(err),
      });
    });
  }
  audit.end(end.reason);
}
