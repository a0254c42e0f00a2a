import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CertFiles, createDbTestPki, type DbPkiFactory, type DbServerPki, type DbTestPki } from './dbPki.ts';
import { startServerProcess } from './serverProcess.ts';
import { freePort } from './sshd.ts';

const find = (name: string) => ['/usr/sbin', '/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find(existsSync);

/** The MariaDB server, installer and client, each undefined when not installed. */
export const MARIADB = { server: find('mariadbd'), install: find('mariadb-install-db'), client: find('mariadb') };

/** Why MariaDB tests cannot run here, or undefined when they can. Test files `test.skipIf` on it and print it. */
export const mariadbMissing =
  MARIADB.server && MARIADB.install && MARIADB.client
    ? undefined
    : 'MariaDB not installed: mariadbd, mariadb-install-db and mariadb are needed ' +
      '(apt-get install --no-install-recommends mariadb-server-core mariadb-client-core; .ci/run does it)';

/** A throwaway MariaDB on 127.0.0.1 that admits only TLS clients, each user by its certificate's subject (CN only). */
export interface MariadbServer<P extends DbServerPki = DbTestPki> extends AsyncDisposable {
  host: '127.0.0.1';
  port: number;
  socket: string;
  /** The CA that signed the server's certificate. */
  caPem: string;
  caPath: string;
  pki: P;
  /** A client certificate the server accepts for `user` (subject exactly `/CN=user`). */
  clientCert(user: string): Promise<CertFiles>;
  /** Runs SQL as root over the Unix socket; returns the client's tab-separated output. */
  admin(sql: string): Promise<string>;
  log(): string;
  close(): Promise<void>;
}

/** `mariadb` client arguments for `user` over TLS with `cert`, verifying the server against the fixture's CA. */
export function mariadbTlsArgs(m: MariadbServer<DbServerPki>, user: string, cert: CertFiles, port = m.port): string[] {
  return [
    '--no-defaults',
    '--connect-timeout=10',
    '-h',
    '127.0.0.1',
    '-P',
    String(port),
    '-u',
    user,
    `--ssl-ca=${m.caPath}`,
    `--ssl-cert=${cert.certPath}`,
    `--ssl-key=${cert.keyPath}`,
    '--ssl-verify-server-cert',
  ];
}

/** Options: users to create (`REQUIRE SUBJECT '/CN=user'`, all privileges), extra client CAs to trust. */
export interface MariadbServerOptions<P extends DbServerPki = DbTestPki> {
  users?: string[];
  trustClientCas?: string[];
  now?: number;
  /** Where the server's certificates come from (default: a fresh test PKI; clusterDbPki: the tp cluster's CAs). */
  pki?: DbPkiFactory<P>;
}

/** Starts a fresh MariaDB (mariadb-install-db into a temp dir, its own port) with `require_secure_transport=ON`. */
export async function startMariadbServer<P extends DbServerPki = DbTestPki>(
  opts: MariadbServerOptions<P> = {},
): Promise<MariadbServer<P>> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-maria-'));
  try {
    return await start(dir, opts);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true }); // start() stopped anything it had started
    throw err;
  }
}

async function start<P extends DbServerPki>(dir: string, opts: MariadbServerOptions<P>): Promise<MariadbServer<P>> {
  const { server, install, client } = MARIADB;
  if (!server || !install || !client) throw new Error(mariadbMissing);
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  // Without opts.pki, P is its default (DbTestPki): the test's own PKI.
  const makePki =
    opts.pki ??
    (((d, o) => createDbTestPki(d, opts.now ?? Date.now(), o)) as DbPkiFactory<DbServerPki> as DbPkiFactory<P>);
  const pki = await makePki(join(dir, 'pki'));
  if (opts.trustClientCas?.length) {
    writeFileSync(pki.clientCaPath, [pki.clientCaPem, ...opts.trustClientCas].join('\n'));
  }
  const port = await freePort();
  const root = process.getuid?.() === 0;
  const cnf = join(dir, 'my.cnf');
  const settings = [
    '[mariadbd]',
    `datadir=${data}`,
    `socket=${socket}`,
    `pid-file=${join(dir, 'mariadbd.pid')}`,
    `port=${port}`,
    'bind-address=127.0.0.1',
    ...(root ? ['user=root'] : []),
    `ssl-ca=${pki.clientCaPath}`,
    `ssl-cert=${pki.server.certPath}`,
    `ssl-key=${pki.server.keyPath}`,
    'require_secure_transport=ON',
    'skip-name-resolve',
    'skip-log-bin',
    'performance_schema=OFF',
    'innodb_buffer_pool_size=32M',
    'innodb_log_file_size=8M',
    'innodb_flush_log_at_trx_commit=0',
    '',
  ];
  writeFileSync(cnf, settings.join('\n'));
  const init = Bun.spawnSync(
    [install, `--defaults-file=${cnf}`, '--skip-test-db', '--auth-root-authentication-method=socket'],
    {
      stdout: 'pipe',
      stderr: 'pipe',
    },
  );
  if (init.exitCode !== 0)
    throw new Error(`mariadb-install-db failed: ${init.stdout.toString()}${init.stderr.toString()}`);
  const { child, log, drained } = await startServerProcess(
    [server, `--defaults-file=${cnf}`],
    'ready for connections',
    'mariadbd',
  );
  const admin = async (sql: string) => {
    const p = Bun.spawn([client, '--no-defaults', '-S', socket, '-u', 'root', '-N', '-B', '-e', sql], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
    if (code !== 0) throw new Error(`mariadb as root failed (${code}): ${err}`);
    return out.trim();
  };
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await child.exited;
    await drained;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const user of opts.users ?? ['alice', 'bob']) {
      await admin(`CREATE USER '${user}'@'%' REQUIRE SUBJECT '/CN=${user}'; GRANT ALL ON *.* TO '${user}'@'%'`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    socket,
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
