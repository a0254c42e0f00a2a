// The PostgreSQL plugin's agent side: heartbeats the configured databases and serves each stream the proxy sends
// (a session, or a CancelRequest for one of this agent's sessions).
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { pemList } from '../../core/crypto/pem.ts';
import { BadParameter, describe, LimitExceeded } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, ResourceSpec } from '../../core/plugin/types.ts';
import { checkDbRoute } from '../../core/rbac/dbPolicy.ts';
import { CancelKeys, type ClientKey } from './cancelKeys.ts';
import type { PostgresDatabase } from './index.ts';
import { type DbTarget, refuse, runSession, type SessionDeps, sessionFields } from './session.ts';
import { readOpening } from './startup.ts';
import { parseServerAddress, sendCancel } from './upstream.ts';
import { SQLSTATE } from './wire.ts';

function target(db: PostgresDatabase): DbTarget {
  const ca = db.ca_file ? pemList(readFileSync(db.ca_file, 'utf8')) : undefined;
  if (ca && ca.length === 0)
    throw new BadParameter(`database "${db.name}": ca_file ${db.ca_file} holds no certificate`);
  return { db, server: parseServerAddress(db.uri, db.tls_server_name), ca };
}

/**
 * Starts the agent side for `entries` (each a `db.databases` entry with `protocol: postgres`). Throws BadParameter
 * at start-up for an unreadable `ca_file` or a bad address, so a misconfigured agent says so before serving.
 */
export function startPostgresAgent(ctx: AgentPluginContext, entries: PostgresDatabase[]): AgentPlugin {
  const targets = new Map(entries.map((e) => [e.name, target(e)]));
  const deps: SessionDeps = { ctx, keys: new CancelKeys(ctx.ids) };
  const live = new Set<Duplex>();

  /** Forwards a CancelRequest to the server of the session it names, if the same user runs it here. */
  const cancel = async (s: PluginSession, key: ClientKey) => {
    const t = deps.keys.find(key);
    if (!t || t.user !== s.user?.name || t.resource !== s.resource) {
      log.info('ignored a PostgreSQL cancel request that names no session of this user', {
        user: s.user?.name,
        resource: s.resource,
      });
      return;
    }
    await sendCancel(t.server, t.ca, t.pid, t.secret);
  };

  const serve = async (stream: Duplex, s: PluginSession) => {
    const t = targets.get(s.resource);
    if (!t) {
      return refuse(stream, {
        code: SQLSTATE.invalidAuthorization,
        message: `tp: this agent does not serve database "${s.resource}"`,
      });
    }
    live.add(stream);
    try {
      const opening = await readOpening(stream, s.signal).catch(async (err) => {
        const message = describe(err);
        ctx.emit([{ ...sessionFields(ctx, t.db, s), type: 'db.session.start', success: false, error: message }]);
        const malformed = err instanceof BadParameter || err instanceof LimitExceeded;
        const code = malformed ? SQLSTATE.protocolViolation : SQLSTATE.adminShutdown;
        await refuse(stream, { code, message: `tp: ${message}` });
        return undefined;
      });
      if (opening?.type === 'cancel') await cancel(s, opening);
      else if (opening) await runSession(deps, t, stream, s, opening);
    } finally {
      live.delete(stream);
    }
  };

  return {
    resources: (): ResourceSpec[] =>
      [...targets.values()].map(({ db }) => ({
        name: db.name,
        labels: db.labels,
        spec: { protocol: 'postgres', uri: db.uri },
      })),
    // The route's db user and database, before the ack: a refusal reaches the client typed (tp prints it, psql
    // shows it as the server's error); the StartupMessage is checked again in the session.
    admit: (s) => {
      const t = targets.get(s.resource);
      if (t && s.user) checkDbRoute(ctx.state.roles(), s.user, t.db.labels, s.route);
    },
    serve,
    close: async () => {
      for (const stream of live) stream.destroy();
    },
  };
}
