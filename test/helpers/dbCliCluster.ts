// A cluster as an operator sets one up for databases (see operatorCluster.ts), alice logged in with `tp login` into
// her own TP_HOME, the db_client CA exported for the database to trust, and agents whose `db` section lists the
// databases.
import { join } from 'node:path';
import { startOperatorCluster } from './operatorCluster.ts';

/** One `db.databases` entry of the agent's tp.yaml. */
export type DbEntry = Record<string, unknown> & { name: string; protocol: string; uri: string };

export interface DbCliCluster {
  proxy: string;
  dataDir: string;
  /** The environment of alice's shell (her TP_HOME, logged in). */
  home: Record<string, string>;
  /** PEM of the cluster's db_client CA (what the database trusts). */
  dbClientCa: string;
  /** Logs alice in (again) into the TP_HOME of `env`, with `--ttl ttl` when given. */
  login(env: Record<string, string>, ttl?: string): Promise<void>;
  /** Starts an agent from tp.yaml serving `databases` (labels env=dev unless given). */
  startAgent(databases: DbEntry[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the cluster, creates `roleYaml` and alice holding it, logs her in. */
export async function startDbCliCluster(dir: string, roleYaml: string): Promise<DbCliCluster> {
  const c = await startOperatorCluster(dir, 'db.test', roleYaml);
  try {
    const home = { TP_HOME: join(dir, 'home-alice') };
    await c.login(home);
    const dbClientCa = await c.admin(['ca', 'export', '--type', 'db_client', '--format', 'pem']);
    return {
      proxy: c.proxy,
      dataDir: c.dataDir,
      home,
      dbClientCa,
      login: c.login,
      startAgent: (databases) => {
        const entries = databases.map((d) => ({ labels: { env: 'dev' }, ...d }));
        return c.startAgent('dbagent', `db: {enabled: true, databases: ${JSON.stringify(entries)}}\n`);
      },
      close: c.close,
    };
  } catch (err) {
    await c.close();
    throw err;
  }
}
