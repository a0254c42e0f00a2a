import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { clusterDbPki, type DbServerPki } from './dbPki.ts';
import { type MariadbServer, startMariadbServer } from './mariadbServer.ts';
import { freePort } from './sshd.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

/** `tp start` (auth, proxy, agent in one process) serving a real MariaDB as `maria1`, on the cluster's db PKI. */
export interface MariaCluster extends AsyncDisposable {
  dir: string;
  dataDir: string;
  /** `--data-dir DIR`, for admin commands. */
  admin: string[];
  proxyAddr: string;
  maria: MariadbServer<DbServerPki>;
  daemon: TpDaemon;
  /** The CLI environment of a user (their own TP_HOME). */
  as(user: string): { env: Record<string, string> };
  /** Adds a user with the preset access role who may be db user alice in database app. */
  addUser(name: string): Promise<void>;
  /** Logs `name` in with the real CLI (a certificate of `ttl` when given). */
  login(name: string, ttl?: string): Promise<void>;
  close(): Promise<void>;
}

const PASSWORD = 'correct horse battery staple';

/** tp.yaml for the all-in-one cluster; with `port`, the agent serves that MariaDB as maria1 (labels env=dev). */
function writeConfig(dir: string, authPort: number, proxyPort: number, port?: number): string {
  const path = join(dir, 'tp.yaml');
  const db = port
    ? `db:\n  enabled: true\n  databases:\n    - {name: maria1, protocol: mysql, uri: "127.0.0.1:${port}", labels: {env: dev}}\n`
    : '';
  writeFileSync(
    path,
    `cluster_name: maria.e2e\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off"}\n` +
      `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:0}\nssh: {name: db-host}\n${db}`,
  );
  return path;
}

/**
 * Starts the cluster twice: the first start makes its CAs, with which MariaDB is set up (server certificate from
 * `tp ca sign --db`, REQUIRE SUBJECT users trusting the db_client CA); the second has db.databases in its tp.yaml.
 * MariaDB has users alice and bob and databases app and secret; it also trusts `trustClientCas` (a benchmark's
 * direct reference connection signs its own client certificate).
 */
export async function startMariaCluster(opts: { trustClientCas?: string[] } = {}): Promise<MariaCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-maria-cluster-'));
  const dataDir = join(dir, 'data');
  const admin = ['--data-dir', dataDir];
  const [authPort, proxyPort] = [await freePort(), await freePort()];
  const proxyAddr = `127.0.0.1:${proxyPort}`;
  const start = (config: string) => startTpDaemon(['start', '--config', config, ...admin], /og in and connect/);
  let daemon = await start(writeConfig(dir, authPort, proxyPort));
  let maria: MariadbServer<DbServerPki> | undefined;
  try {
    const signedDir = join(dir, 'signed');
    await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, ...admin]);
    const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', ...admin]);
    await daemon.stop();
    maria = await startMariadbServer({
      users: ['alice', 'bob'],
      trustClientCas: opts.trustClientCas,
      pki: clusterDbPki({
        signedDir,
        dbCaPem,
        clientCert: () => Promise.reject(new Error('this fixture makes no client certificates of its own')),
      }),
    });
    await maria.admin('CREATE DATABASE app; CREATE DATABASE secret');
    daemon = await start(writeConfig(dir, authPort, proxyPort, maria.port));
  } catch (err) {
    await daemon.stop();
    await maria?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const as = (user: string) => ({ env: { TP_HOME: join(dir, `home-${user}`) } });
  const close = async () => {
    await daemon.stop();
    await maria!.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    dir,
    dataDir,
    admin,
    proxyAddr,
    maria,
    daemon,
    as,
    addUser: async (name) => {
      const traits = ['--db-users', 'alice', '--db-names', 'app'];
      await tpOk(['users', 'add', name, '--roles', 'access', ...traits, '--password-stdin', ...admin], {
        stdin: PASSWORD,
      });
    },
    login: async (name, ttl) => {
      mkdirSync(as(name).env.TP_HOME!, { recursive: true });
      const args = ['login', '--proxy', proxyAddr, '--user', name, '--password-stdin', '--insecure'];
      await tpOk([...args, ...(ttl ? ['--ttl', ttl] : [])], { ...as(name), stdin: PASSWORD });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
