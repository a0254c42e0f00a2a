/** The MySQL/MariaDB plugin's agent side: heartbeats the configured databases and serves one stream per session. */

import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { BadParameter, NotFound, Unavailable } from '../../core/errors.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession } from '../../core/plugin/types.ts';
import { checkDbRoute } from '../../core/rbac/dbPolicy.ts';
import { writeErr } from './agent/replies.ts';
import { type ServedDatabase, serveSession } from './agent/session.ts';
import { type MysqlDatabase, serverAddress } from './config.ts';

/** The PEM certificates in a `ca_file`; a missing or empty file is a start-up error naming the database. */
function readCaFile(db: MysqlDatabase, path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BadParameter(`database "${db.name}": cannot read ca_file ${path}: ${(err as Error).message}`);
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new BadParameter(`database "${db.name}": ca_file ${path} holds no PEM certificate`);
  return certs;
}

/** Starts the agent side for `entries` (validated tp.yaml entries); bad addresses or CA files fail here, at start. */
export function startMysqlAgent(ctx: AgentPluginContext, entries: MysqlDatabase[]): AgentPlugin {
  const served = new Map<string, ServedDatabase>();
  for (const db of entries) {
    const at = serverAddress(db);
    served.set(db.name, { db, ...at, ...(db.ca_file ? { ca: readCaFile(db, db.ca_file) } : {}) });
  }
  const live = new Set<AbortController>();
  return {
    resources: () =>
      entries.map((db) => ({ name: db.name, labels: db.labels, spec: { protocol: 'mysql', uri: db.uri } })),
    // The route's db user and database, before the ack: a refusal reaches the client typed (tp prints it, mariadb
    // shows it as the server's ERR); the handshake and every COM_INIT_DB are checked again in the session.
    admit(session: PluginSession) {
      const target = served.get(session.resource);
      if (target && session.user) checkDbRoute(ctx.state.roles(), session.user, target.db.labels, session.route);
    },
    async serve(stream: Duplex, session: PluginSession) {
      const target = served.get(session.resource);
      if (!target) {
        writeErr(stream, 0, new NotFound(`this agent serves no MySQL database "${session.resource}"`));
        return;
      }
      const stop = new AbortController();
      live.add(stop);
      try {
        await serveSession(ctx, target, stream, { ...session, signal: AbortSignal.any([session.signal, stop.signal]) });
      } finally {
        live.delete(stop);
      }
    },
    async close() {
      for (const stop of live) stop.abort(new Unavailable('the agent is stopping'));
    },
  };
}
