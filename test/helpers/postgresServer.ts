import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CertFiles, createDbTestPki, type DbPkiFactory, type DbServerPki, type DbTestPki } from './dbPki.ts';
import { startServerProcess } from './serverProcess.ts';
import { freePort } from './sshd.ts';

/** The newest installed PostgreSQL's server binaries (Debian keeps them out of PATH), e.g. /usr/lib/postgresql/15/bin. */
const BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0] ?? '15', 'bin');
})();

/** The PostgreSQL 15 server binaries, or undefined when they are not installed. */
export const POSTGRES_BIN = ['postgres', 'initdb'].every((b) => existsSync(join(BIN, b))) ? BIN : undefined;

/** Why PostgreSQL tests cannot run here, or undefined when they can. Test files `test.skipIf` on it and print it. */
export const postgresMissing = POSTGRES_BIN
  ? undefined
  : `PostgreSQL server binaries not found in ${BIN} (apt-get install postgresql; .ci/run does it)`;

/** A throwaway PostgreSQL cluster on 127.0.0.1 that admits TLS clients by certificate only (CN = user). */
export interface PostgresServer<P extends DbServerPki = DbTestPki> extends AsyncDisposable {
  host: '127.0.0.1';
  port: number;
  /** The folder holding the Unix socket (trust auth, for the test's own admin work). */
  socketDir: string;
  /** The CA that signed the server's certificate. */
  caPem: string;
  caPath: string;
  pki: P;
  /** A client certificate the server accepts for `user` (CN = user). */
  clientCert(user: string): Promise<CertFiles>;
  /** Runs SQL as the superuser over the Unix socket; returns psql's unaligned output. */
  admin(sql: string): Promise<string>;
  log(): string;
  close(): Promise<void>;
}

/** A libpq connection string for `user` over verified TLS to `pg` (127.0.0.1 unless `port` names a relay). */
export function psqlConninfo(pg: PostgresServer<DbServerPki>, user: string, cert: CertFiles, port = pg.port): string {
  return [
    `host=127.0.0.1 port=${port} user=${user} dbname=postgres connect_timeout=10`,
    `sslmode=verify-full sslrootcert=${pg.caPath} sslcert=${cert.certPath} sslkey=${cert.keyPath}`,
  ].join(' ');
}

/** Options: the users to create (login roles, no password), extra client CAs the server should trust. */
export interface PostgresServerOptions<P extends DbServerPki = DbTestPki> {
  users?: string[];
  trustClientCas?: string[];
  now?: number;
  /** Where the server's certificates come from (default: a fresh test PKI; clusterDbPki: the tp cluster's CAs). */
  pki?: DbPkiFactory<P>;
}

function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(Bun.spawnSync(['id', flag, 'postgres']).stdout.toString().trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root, but there is no postgres user to run initdb');
  return { uid, gid: id('-g') };
}

/** Starts a fresh cluster (initdb into a temp dir, its own port), configured for `hostssl ... cert` as plugins-facts.md says. */
export async function startPostgresServer<P extends DbServerPki = DbTestPki>(
  opts: PostgresServerOptions<P> = {},
): Promise<PostgresServer<P>> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-pg-'));
  try {
    return await start(dir, opts);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true }); // start() stopped anything it had started
    throw err;
  }
}

async function start<P extends DbServerPki>(dir: string, opts: PostgresServerOptions<P>): Promise<PostgresServer<P>> {
  if (!POSTGRES_BIN) throw new Error(postgresMissing);
  const owner = postgresOwner();
  const asOwner = (argv: string[]) => (owner ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  if (owner) Bun.spawnSync(['chown', '-R', `${owner.uid}:${owner.gid}`, dir]);
  // Without opts.pki, P is its default (DbTestPki): the test's own PKI.
  const makePki =
    opts.pki ??
    (((d, o) => createDbTestPki(d, opts.now ?? Date.now(), o)) as DbPkiFactory<DbServerPki> as DbPkiFactory<P>);
  const pki = await makePki(join(dir, 'pki'), owner);
  if (opts.trustClientCas?.length) {
    writeFileSync(pki.clientCaPath, [pki.clientCaPem, ...opts.trustClientCas].join('\n'));
  }
  const init = Bun.spawnSync(
    asOwner([join(POSTGRES_BIN, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']),
    {
      stdout: 'pipe',
      stderr: 'pipe',
    },
  );
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  writeFileSync(
    join(data, 'pg_hba.conf'),
    ['local all all trust', 'hostssl all all 127.0.0.1/32 cert', 'hostnossl all all 127.0.0.1/32 reject', ''].join(
      '\n',
    ),
  );
  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: socketDir,
    ssl: 'on',
    ssl_cert_file: pki.server.certPath,
    ssl_key_file: pki.server.keyPath,
    ssl_ca_file: pki.clientCaPath,
    fsync: 'off',
    log_connections: 'on',
  };
  const argv = [
    join(POSTGRES_BIN, 'postgres'),
    '-D',
    data,
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  const { child, log, drained } = await startServerProcess(
    asOwner(argv),
    'database system is ready to accept connections',
    'postgres',
  );
  const postmasterPid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const admin = async (sql: string) => {
    const p = Bun.spawn(
      [
        'psql',
        '-X',
        '-h',
        socketDir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-Atc',
        sql,
      ],
      {
        stdout: 'pipe',
        stderr: 'pipe',
      },
    );
    const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
    if (code !== 0) throw new Error(`psql as postgres failed (${code}): ${err}`);
    return out.trim();
  };
  const close = async () => {
    // Fast shutdown (SIGINT ends backends, skips the checkpoint wait), sent to the postmaster itself: runuser, our
    // direct child, does not pass SIGINT on.
    if (child.exitCode === null) process.kill(postmasterPid, 'SIGINT');
    await child.exited;
    await drained;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const user of opts.users ?? ['alice', 'bob']) await admin(`CREATE ROLE "${user}" LOGIN`);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    socketDir,
    caPem: pki.serverCaPem,
    caPath: pki.serverCaPath,
    pki,
    clientCert: (user) => pki.clientCert(user),
    admin,
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}
