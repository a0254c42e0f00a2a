// One PostgreSQL session on the agent, from the client's StartupMessage to the end: roles checked against the user
// and database it names, an ephemeral certificate for that user, verified TLS to the server, then the relay; every
// step audited, every refusal a proper ErrorResponse the client shows.
import type { Duplex } from 'node:stream';
import type { AuditInput } from '../../core/audit/events.ts';
import { AccessDenied, describe, TpError } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import { checkDbAccess, resolveRoles } from '../../core/rbac/index.ts';
import type { CancelKeys, ClientKey } from './cancelKeys.ts';
import { ephemeralClientCert } from './clientCert.ts';
import type { PostgresDatabase } from './index.ts';
import { PgRelay } from './relay.ts';
import type { ClientOpening } from './startup.ts';
import { dialServer, type ServerAddress, sendCancel } from './upstream.ts';
import { backendKeyData, type ErrorSpec, errorResponse, SQLSTATE } from './wire.ts';

/** What every session of one agent shares. */
export interface SessionDeps {
  ctx: AgentPluginContext;
  keys: CancelKeys;
}

/** A database this agent serves, with its address parsed and its own CA file (if any) read at start-up. */
export interface DbTarget {
  db: PostgresDatabase;
  server: ServerAddress;
  /** The entry's `ca_file`: verifies the server instead of the cluster's db CA. */
  ca?: string[];
}

/** A refusal: what the client is told (SQLSTATE and message) and what the audit says. */
class Refusal extends TpError {
  constructor(
    readonly sqlstate: string,
    message: string,
  ) {
    super(message);
  }
}

/** The audit fields every event of a session carries. */
export function sessionFields(
  ctx: AgentPluginContext,
  db: PostgresDatabase,
  s: PluginSession,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    user: s.user?.name,
    session_id: s.id,
    'addr.remote': s.client,
    server_id: ctx.hostId,
    server_name: ctx.nodeName,
    db_service: db.name,
    db_protocol: 'postgres',
    db_uri: db.uri,
    ...extra,
  };
}

/** Writes an ErrorResponse and ends the stream; resolves once it is flushed (or after a short wait). */
export function refuse(stream: Duplex, spec: ErrorSpec): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.end(errorResponse(spec), () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Throws Refusal unless the roles let `user` in as `dbUser` on `dbName` (28000 for the user, 42501 for the name). */
function authorize(ctx: AgentPluginContext, db: PostgresDatabase, user: VerifiedUser, dbUser: string, dbName: string) {
  const all = ctx.state.roles();
  const denied = (err: unknown, sqlstate: string): never => {
    if (err instanceof AccessDenied)
      throw new Refusal(sqlstate, `access to database "${db.name}" denied: ${err.message}`);
    throw err;
  };
  let roles: ReturnType<typeof resolveRoles> = [];
  try {
    roles = resolveRoles(user.roles, (n) => all.find((r) => r.metadata.name === n));
    checkDbAccess(roles, user.traits, db.labels, dbUser, null);
  } catch (err) {
    denied(err, SQLSTATE.invalidAuthorization);
  }
  try {
    checkDbAccess(roles, user.traits, db.labels, dbUser, dbName);
  } catch (err) {
    denied(err, SQLSTATE.insufficientPrivilege);
  }
}

/** Serves one session whose StartupMessage has been read. Resolves when it is over (refused or ended). */
export async function runSession(
  d: SessionDeps,
  target: DbTarget,
  stream: Duplex,
  s: PluginSession,
  opening: Extract<ClientOpening, { type: 'startup' }>,
): Promise<void> {
  const { ctx } = d;
  const { db, server } = target;
  const params = opening.message.params;
  const dbUser = params.user ?? '';
  const dbName = params.database || dbUser;
  const fields = sessionFields(ctx, db, s, { db_user: dbUser, db_name: dbName });
  const emit = (e: AuditInput) => ctx.emit([{ ...fields, ...e }]);
  let started = false;
  let key: ClientKey | undefined;
  try {
    if (!s.user) throw new Refusal(SQLSTATE.invalidAuthorization, 'the stream carries no verified tp user');
    if (!dbUser) throw new Refusal(SQLSTATE.invalidAuthorization, 'no database user name given in the startup');
    authorize(ctx, db, s.user, dbUser, dbName);
    const user = s.user;
    const {
      cert,
      key: privateKey,
      ca: clusterCa,
    } = await ephemeralClientCert(ctx, user, dbUser, db.name).catch((err) => {
      const sqlstate = err instanceof AccessDenied ? SQLSTATE.invalidAuthorization : SQLSTATE.connectionFailure;
      throw new Refusal(sqlstate, `cannot get a certificate for database user "${dbUser}": ${describe(err)}`);
    });
    const ca = target.ca ?? clusterCa;
    const upstream = await dialServer(server, { ca, cert, key: privateKey }, s.signal).catch((err) => {
      throw new Refusal(SQLSTATE.connectionFailure, `cannot reach database "${db.name}": ${describe(err)}`);
    });
    let upstreamKey: { pid: number; secret: Buffer } | undefined;
    let refusedBy: string | undefined;
    const relay = new PgRelay(stream, upstream, {
      backendKey: (pid, secret) => {
        upstreamKey = { pid, secret: Buffer.from(secret) };
        if (key) d.keys.release(key);
        key = d.keys.issue({ user: user.name, resource: db.name, server, ca, ...upstreamKey });
        return backendKeyData(key.pid, key.secret);
      },
      refused: (f) => {
        refusedBy ??= `the database refused: ${f.M ?? 'no message'}${f.C ? ` (SQLSTATE ${f.C})` : ''}`;
      },
      ready: () => {
        if (started) return;
        started = true;
        emit({ type: 'db.session.start', success: true });
      },
      query: (q) => emit({ type: 'db.query', success: true, ...q }),
    });
    const onAbort = () => {
      const why = describe(s.signal.reason ?? 'the session was ended');
      relay.end({ code: SQLSTATE.adminShutdown, message: `tp: the session was ended: ${why}` });
      // The server does not notice a closed socket while a query runs: cancel it so the backend stops now.
      if (upstreamKey && relay.busy) {
        sendCancel(server, ca, upstreamKey.pid, upstreamKey.secret).catch((err) =>
          log.warn('could not cancel the query of an ended database session', { error: describe(err) }),
        );
      }
    };
    if (s.signal.aborted) onAbort();
    s.signal.addEventListener('abort', onAbort, { once: true });
    upstream.write(opening.message.raw);
    const end = await relay.run(opening.rest).finally(() => s.signal.removeEventListener('abort', onAbort));
    // `reason`, as db-mysql names it: why the session ended when it was not the client's choice.
    if (started) emit({ type: 'db.session.end', ...(end.error ? { reason: end.error } : {}) });
    else
      emit({
        type: 'db.session.start',
        success: false,
        error: refusedBy ?? end.error ?? 'the connection closed before the database accepted the session',
      });
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    emit({ type: 'db.session.start', success: false, error: err.message });
    await refuse(stream, { code: err.sqlstate, message: `tp: ${err.message}` });
  } finally {
    if (key) d.keys.release(key);
  }
}
