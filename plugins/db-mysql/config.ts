/** One `db.databases` entry of tp.yaml that the MySQL/MariaDB plugin serves, and where its server listens. */

import * as v from 'valibot';
import { BadParameter } from '../../core/errors.ts';

/** `{name, protocol: mysql, uri, labels?, ca_file?, tls_server_name?}`: a MySQL or MariaDB server the agent fronts. */
export const MysqlDatabaseSchema = v.strictObject({
  /** The resource name users ask for (`tp db connect maria1`). */
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a database name is letters, digits, . _ -')),
  protocol: v.literal('mysql'),
  /** `host:port` or `mysql://host[:port]` (port 3306 when absent). */
  uri: v.pipe(v.string(), v.minLength(1)),
  labels: v.optional(v.record(v.string(), v.string()), {}),
  /** PEM file of the CA that signed the server's certificate; absent: the cluster's db CA. */
  ca_file: v.optional(v.string()),
  /** The name to check the server's certificate against; absent: the host of `uri`. */
  tls_server_name: v.optional(v.string()),
});

/** A validated entry. */
export type MysqlDatabase = v.InferOutput<typeof MysqlDatabaseSchema>;

/** True for entries this plugin serves; reads the raw entry, so it may be asked before validation. */
export function isMysqlEntry(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && (entry as { protocol?: unknown }).protocol === 'mysql';
}

/** Host and port of a database `uri`; throws BadParameter naming the entry when it is neither form. */
export function serverAddress(db: Pick<MysqlDatabase, 'name' | 'uri'>): { host: string; port: number } {
  const m = /^(?:mysql:\/\/)?(\[[0-9a-fA-F:]+\]|[^/:@[\]]+)(?::(\d{1,5}))?\/?$/.exec(db.uri.trim());
  const port = m?.[2] === undefined ? 3306 : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    throw new BadParameter(`database "${db.name}": uri "${db.uri}" is not host:port or mysql://host[:port]`, {
      database: db.name,
    });
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `--db NAME=mysql://HOST[:PORT]` as a raw entry; undefined for another protocol's value (`postgres://...`). */
export function parseDbFlag(value: string): unknown {
  const m = /^([^=]+)=(mysql:\/\/.+)$/.exec(value);
  return m ? { name: m[1], protocol: 'mysql', uri: m[2] } : undefined;
}
