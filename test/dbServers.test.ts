import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTlsCA, type TlsKeyPair } from '../core/crypto/x509.ts';
import { run } from './helpers/cli.ts';
import {
  MARIADB,
  type MariadbServer,
  mariadbMissing,
  mariadbTlsArgs,
  startMariadbServer,
} from './helpers/mariadbServer.ts';
import { type PostgresServer, postgresMissing, psqlConninfo, startPostgresServer } from './helpers/postgresServer.ts';

// The database fixtures the db plugins are tested against, proven with the stock clients alone (no tp in the path):
// each admits a user only over TLS with a client certificate whose CN is that user, and refuses everything else.

if (postgresMissing) console.error(`\n!!! PostgreSQL fixture tests are SKIPPED: ${postgresMissing}\n`);
if (mariadbMissing) console.error(`\n!!! MariaDB fixture tests are SKIPPED: ${mariadbMissing}\n`);

const psql = (conninfo: string, sql: string) => run(['psql', '-X', conninfo, '-Atc', sql]);

describe.skipIf(!!postgresMissing)('PostgreSQL fixture: certificate auth only', () => {
  let pg: PostgresServer;
  let extraCa: TlsKeyPair; // a second trusted client CA, as during a db_client CA rotation
  beforeAll(async () => {
    extraCa = await createTlsCA('extra-client-ca', Date.now());
    pg = await startPostgresServer({ trustClientCas: [extraCa.cert] });
  }, 60_000);
  afterAll(() => pg?.close());

  test('alice with a CN=alice certificate, server verified (verify-full), is alice', async () => {
    const r = await psql(psqlConninfo(pg, 'alice', await pg.clientCert('alice')), 'select current_user');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice');
    expect(r.code).toBe(0);
  });

  test('a certificate from a CA given in trustClientCas is accepted too', async () => {
    const r = await psql(psqlConninfo(pg, 'bob', await pg.pki.clientCert('bob', extraCa)), 'select current_user');
    expect(r.stdout.trim()).toBe('bob');
  });

  test("alice's certificate does not log in as bob", async () => {
    const r = await psql(psqlConninfo(pg, 'bob', await pg.clientCert('alice')), 'select current_user');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('certificate authentication failed for user "bob"');
  });

  test('a CN=alice certificate from a foreign CA is refused', async () => {
    const foreign = await createTlsCA('foreign', Date.now());
    const r = await psql(psqlConninfo(pg, 'alice', await pg.pki.clientCert('alice', foreign)), 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown ca');
  });

  test('a connection without TLS is rejected by pg_hba', async () => {
    const r = await psql(`host=127.0.0.1 port=${pg.port} user=alice dbname=postgres sslmode=disable`, 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no encryption');
  });

  test('a client that does not trust the server CA refuses the server', async () => {
    const foreign = await createTlsCA('foreign-server', Date.now());
    const path = `${pg.pki.clientCaPath}.foreign-root`;
    await Bun.write(path, foreign.cert);
    const info = psqlConninfo(pg, 'alice', await pg.clientCert('alice')).replace(pg.caPath, path);
    const r = await psql(info, 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('certificate verify failed');
  });
});

describe.skipIf(!!mariadbMissing)('MariaDB fixture: REQUIRE SUBJECT certificate auth only', () => {
  let m: MariadbServer;
  let extraCa: TlsKeyPair;
  beforeAll(async () => {
    extraCa = await createTlsCA('extra-client-ca', Date.now());
    m = await startMariadbServer({ trustClientCas: [extraCa.cert] });
  }, 60_000);
  afterAll(() => m?.close());
  const mariadb = (args: string[], sql: string) => run([MARIADB.client!, ...args, '-N', '-B', '-e', sql]);

  test('alice with a CN=alice certificate, server verified, is alice@%', async () => {
    const r = await mariadb(mariadbTlsArgs(m, 'alice', await m.clientCert('alice')), 'select current_user()');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice@%');
    expect(r.code).toBe(0);
  });

  test('a certificate from a CA given in trustClientCas is accepted too', async () => {
    const r = await mariadb(mariadbTlsArgs(m, 'bob', await m.pki.clientCert('bob', extraCa)), 'select current_user()');
    expect(r.stdout.trim()).toBe('bob@%');
  });

  test("alice's certificate does not log in as bob", async () => {
    const r = await mariadb(mariadbTlsArgs(m, 'bob', await m.clientCert('alice')), 'select current_user()');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ERROR 1045 (28000): Access denied for user 'bob'");
  });

  test('a CN=alice certificate from a foreign CA is refused', async () => {
    const foreign = await createTlsCA('foreign', Date.now());
    const r = await mariadb(mariadbTlsArgs(m, 'alice', await m.pki.clientCert('alice', foreign)), 'select 1');
    expect(r.code).not.toBe(0);
    // TLS 1.3: the server's alert reaches the client during the handshake or at its first read after it.
    expect(r.stderr).toMatch(/tlsv1 alert unknown ca|Lost connection to server at 'sending authentication/);
    expect(r.stdout).toBe('');
  });

  test('a connection without TLS is refused (require_secure_transport), even for a user with no requirement', async () => {
    await m.admin("CREATE USER IF NOT EXISTS 'plain'@'%'");
    const base = ['--no-defaults', '--connect-timeout=10', '-h', '127.0.0.1', '-P', String(m.port), '-u', 'plain'];
    const tls = await mariadb([...base, `--ssl-ca=${m.caPath}`, '--ssl-verify-server-cert'], 'select current_user()');
    expect(tls.stdout.trim()).toBe('plain@%');
    const plain = await mariadb([...base, '--skip-ssl'], 'select current_user()');
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain("ERROR 1045 (28000): Access denied for user 'plain'");
  });
});
