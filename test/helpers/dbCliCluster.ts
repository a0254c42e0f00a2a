// A cluster as an operator sets one up for databases, all through the real CLI: `tp start` from a tp.yaml, a role
// and a user (alice, logged in with `tp login` into her own TP_HOME), the db_client CA exported for the database
// to trust, and `tp agent start` from an agent tp.yaml whose `db` section lists the databases.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

const PASSWORD = 'correct horse battery staple';

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
  const dataDir = join(dir, 'data');
  const config = join(dir, 'tp.yaml');
  writeFileSync(
    config,
    `cluster_name: db.test\ndata_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n',
  );
  const daemons: TpDaemon[] = [await startTpDaemon(['start', '--config', config], /log in and connect/i)];
  const close = async () => {
    for (const d of daemons.reverse()) await d.stop();
  };
  try {
    const proxy = /proxy:\s+https:\/\/(\S+)/.exec(daemons[0]!.banner)?.[1];
    if (!proxy) throw new Error(`no proxy address in the banner: ${daemons[0]!.banner}`);
    const admin = (args: string[], stdin?: string) => tpOk([...args, '--data-dir', dataDir], { stdin });
    await admin(['roles', 'create', '-f', '-'], roleYaml);
    const role = /name:\s*(\S+)\}/.exec(roleYaml)?.[1] ?? 'access';
    await admin(['users', 'add', 'alice', '--roles', role, '--password-stdin'], PASSWORD);
    const home = { TP_HOME: join(dir, 'home-alice') };
    const login = async (env: Record<string, string>, ttl?: string) => {
      const args = ['login', '--proxy', proxy, '--user', 'alice', '--password-stdin', '--insecure'];
      await tpOk([...args, ...(ttl ? ['--ttl', ttl] : [])], { env, stdin: PASSWORD });
    };
    await login(home);
    const dbClientCa = await admin(['ca', 'export', '--type', 'db_client', '--format', 'pem']);
    let agents = 0;
    return {
      proxy,
      dataDir,
      home,
      dbClientCa,
      login,
      async startAgent(databases) {
        const n = ++agents;
        const token = JSON.parse(await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])) as {
          token: string;
          ca_pin: string;
        };
        const file = join(dir, `agent-${n}.yaml`);
        const entries = databases.map((d) => ({ labels: { env: 'dev' }, ...d }));
        writeFileSync(
          file,
          `data_dir: ${join(dir, `agent-${n}`)}\n` +
            `ssh: {name: dbagent${n}, proxy: "${proxy}", token: "${token.token}", ca_pin: "${token.ca_pin}"}\n` +
            `db: {enabled: true, databases: ${JSON.stringify(entries)}}\n`,
        );
        daemons.push(await startTpDaemon(['agent', 'start', '--config', file], /agent \S+ running/));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
