import type { DbServerPki } from './dbPki.ts';
import { type DbTpCluster, startDbTpCluster } from './dbTpCluster.ts';
import { type PostgresServer, startPostgresServer } from './postgresServer.ts';

/** `tp start` (auth, proxy, agent in one process) serving a real PostgreSQL as `pg1`, on the cluster's db PKI. */
export interface PgCluster extends DbTpCluster<PostgresServer<DbServerPki>> {
  pg: PostgresServer<DbServerPki>;
}

/**
 * The cluster of `startDbTpCluster` with PostgreSQL roles alice and bob, a database alice owned by alice (psql
 * without a database name asks for the one named like the user); users may reach databases alice and postgres.
 */
export async function startPgCluster(opts: { trustClientCas?: string[] } = {}): Promise<PgCluster> {
  const c = await startDbTpCluster(
    {
      tag: 'pg',
      resource: { name: 'pg1', protocol: 'postgres' },
      dbNames: 'alice,postgres',
      startServer: (pki, trustClientCas) => startPostgresServer({ users: ['alice', 'bob'], trustClientCas, pki }),
      setup: async (pg) => void (await pg.admin('CREATE DATABASE alice OWNER alice')),
    },
    opts,
  );
  return Object.assign(c, { pg: c.server });
}
