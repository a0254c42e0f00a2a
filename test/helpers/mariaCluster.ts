import type { DbServerPki } from './dbPki.ts';
import { type DbTpCluster, startDbTpCluster } from './dbTpCluster.ts';
import { type MariadbServer, startMariadbServer } from './mariadbServer.ts';

/** `tp start` (auth, proxy, agent in one process) serving a real MariaDB as `maria1`, on the cluster's db PKI. */
export interface MariaCluster extends DbTpCluster<MariadbServer<DbServerPki>> {
  maria: MariadbServer<DbServerPki>;
}

/**
 * The cluster of `startDbTpCluster` with MariaDB users alice and bob (REQUIRE SUBJECT, trusting the db_client CA)
 * and databases app and secret; users may reach database app only.
 */
export async function startMariaCluster(opts: { trustClientCas?: string[] } = {}): Promise<MariaCluster> {
  const c = await startDbTpCluster(
    {
      tag: 'maria',
      resource: { name: 'maria1', protocol: 'mysql' },
      dbNames: 'app',
      startServer: (pki, trustClientCas) => startMariadbServer({ users: ['alice', 'bob'], trustClientCas, pki }),
      setup: async (maria) => void (await maria.admin('CREATE DATABASE app; CREATE DATABASE secret')),
    },
    opts,
  );
  return Object.assign(c, { maria: c.server });
}
