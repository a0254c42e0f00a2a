// The PostgreSQL plugin: databases reached over ALPN `tp-db-postgres`, with the agent authenticating to the server by
// an ephemeral client certificate (DESIGN.md "Plugins"). The agent side loads only on agents that serve one.
import * as v from 'valibot';
import { definePlugin } from '../../core/plugin/define.ts';
import { dbPolicy } from '../../core/rbac/dbPolicy.ts';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const ADDRESS = /^(postgres(ql)?:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?\/?$/;

/** One `db.databases` entry this plugin serves: `{name, protocol: postgres, uri, labels?, ca_file?, tls_server_name?}`. */
export const PostgresDatabaseSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(NAME, 'database names are lowercase letters, digits, "-", "_" or "."')),
  protocol: v.literal('postgres'),
  /** `host:port` or `postgres://host:port` (port 5432 when absent). */
  uri: v.pipe(v.string(), v.regex(ADDRESS, 'expected host:port or postgres://host:port, e.g. 127.0.0.1:5432')),
  labels: v.optional(v.record(v.string(), v.string()), {}),
  /** PEM file of the CA that signed the server's certificate, when it is not the cluster's db CA. */
  ca_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** The name the server's certificate must carry, when it is not the host in `uri`. */
  tls_server_name: v.optional(v.pipe(v.string(), v.minLength(1))),
});

export type PostgresDatabase = v.InferOutput<typeof PostgresDatabaseSchema>;

/** `--db NAME=postgres://HOST:PORT` as a raw `db.databases` entry; undefined for another protocol's value. */
export function parseDbFlag(value: string): unknown {
  const m = /^([^=]+)=postgres(?:ql)?:\/\/(.+)$/.exec(value);
  return m ? { name: m[1], protocol: 'postgres', uri: m[2] } : undefined;
}

export default definePlugin<PostgresDatabase>({
  name: 'db-postgres',
  kind: 'db',
  alpn: ['tp-db-postgres'],
  config: PostgresDatabaseSchema,
  section: { key: 'db', list: 'databases' },
  // Every database plugin shares the db kind's RBAC: db_labels, db_users, db_names.
  policy: dbPolicy,
  // Runs on the raw entry, before validation: whatever its shape, only `protocol: postgres` is ours.
  claims: (entry) => (entry as { protocol?: unknown } | null)?.protocol === 'postgres',
  flag: {
    name: 'db',
    description: 'serve a database, NAME=postgres://HOST:PORT (repeatable)',
    parse: parseDbFlag,
  },
  agent: async (ctx, entries) => (await import('./agent.ts')).startPostgresAgent(ctx, entries),
  // psql's arguments, the connect hint and PG* lines for `tp db` and `tp proxy db --tunnel`.
  commands: () => import('./client.ts'),
});
