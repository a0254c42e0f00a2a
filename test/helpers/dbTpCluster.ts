import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { clusterDbPki, type DbPkiFactory, type DbServerPki } from './dbPki.ts';
import { freePort } from './sshd.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

/** What the cluster needs of a real database server fixture. */
export interface DbServerFixture {
  port: number;
  admin(sql: string): Promise<string>;
  close(): Promise<void>;
}

/** One database engine as a `tp start` cluster serves it: its fixture, its resource and the users' db traits. */
export interface DbFlavour<S extends DbServerFixture> {
  /** The cluster name and the temp folder's tag, e.g. `pg`. */
  tag: string;
  /** The resource the agent serves, e.g. `{name: 'pg1', protocol: 'postgres'}` (labels env=dev). */
  resource: { name: string; protocol: string };
  /** `--db-names` of the users `addUser` makes (db user is always alice). */
  dbNames: string;
  /** Starts the server on the cluster's db PKI (users alice and bob), trusting `trustClientCas` too. */
  startServer(pki: DbPkiFactory<DbServerPki>, trustClientCas: string[] | undefined): Promise<S>;
  /** The databases the tests use, made once the server is up. */
  setup(server: S): Promise<void>;
}

/** `tp start` (auth, proxy, agent in one process) serving a real database server, on the cluster's db PKI. */
export interface DbTpCluster<S extends DbServerFixture> extends AsyncDisposable {
  dir: string;
  dataDir: string;
  /** `--data-dir DIR`, for admin commands. */
  admin: string[];
  proxyAddr: string;
  server: S;
  /** The cluster process. */
  daemon: TpDaemon;
  /** The CLI environment of a user (their own TP_HOME). */
  as(user: string): { env: Record<string, string> };
  /** Adds a user with the preset access role who may be db user alice on the flavour's databases. */
  addUser(name: string): Promise<void>;
  /** Logs `name` in with the real CLI (a certificate of `ttl` when given). */
  login(name: string, ttl?: string): Promise<void>;
  close(): Promise<void>;
}

const PASSWORD = 'correct horse battery staple';

/** tp.yaml for the all-in-one cluster; with `dbPort`, the agent serves the flavour's resource on it. */
function writeConfig(dir: string, tag: string, ports: number[], db?: { name: string; protocol: string; port: number }) {
  const path = join(dir, 'tp.yaml');
  const dbs = db
    ? `db:\n  enabled: true\n  databases:\n    - {name: ${db.name}, protocol: ${db.protocol}, uri: "127.0.0.1:${db.port}", labels: {env: dev}}\n`
    : '';
  writeFileSync(
    path,
    `cluster_name: ${tag}.e2e\nauth: {listen: 127.0.0.1:${ports[0]}, second_factor: "off"}\n` +
      `proxy: {listen: 127.0.0.1:${ports[1]}, ssh_listen: 127.0.0.1:0}\nssh: {name: db-host}\n${dbs}`,
  );
  return path;
}

/**
 * Starts the cluster twice: the first start makes its CAs, with which the database server is set up (server
 * certificate from `tp ca sign --db`, the db_client CA trusted); the second has db.databases in its tp.yaml (the
 * agent reads it at start-up). `trustClientCas`: a benchmark's direct reference connection signs its own client
 * certificate.
 */
export async function startDbTpCluster<S extends DbServerFixture>(
  flavour: DbFlavour<S>,
  opts: { trustClientCas?: string[] } = {},
): Promise<DbTpCluster<S>> {
  const dir = mkdtempSync(join(tmpdir(), `tp-${flavour.tag}-cluster-`));
  const dataDir = join(dir, 'data');
  const admin = ['--data-dir', dataDir];
  const ports = [await freePort(), await freePort()];
  const proxyAddr = `127.0.0.1:${ports[1]}`;
  const start = (config: string) => startTpDaemon(['start', '--config', config, ...admin], /og in and connect/);
  let daemon = await start(writeConfig(dir, flavour.tag, ports));
  let server: S | undefined;
  try {
    const signedDir = join(dir, 'signed');
    await tpOk(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', signedDir, ...admin]);
    const dbCaPem = await tpOk(['ca', 'export', '--type', 'db', ...admin]);
    await daemon.stop();
    const pki = clusterDbPki({
      signedDir,
      dbCaPem,
      clientCert: () => Promise.reject(new Error('this fixture makes no client certificates of its own')),
    });
    server = await flavour.startServer(pki, opts.trustClientCas);
    await flavour.setup(server);
    daemon = await start(writeConfig(dir, flavour.tag, ports, { ...flavour.resource, port: server.port }));
  } catch (err) {
    await daemon.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const up = server;
  const as = (user: string) => ({ env: { TP_HOME: join(dir, `home-${user}`) } });
  const close = async () => {
    await daemon.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    dir,
    dataDir,
    admin,
    proxyAddr,
    server: up,
    daemon,
    as,
    addUser: async (name) => {
      const traits = ['--db-users', 'alice', '--db-names', flavour.dbNames];
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
