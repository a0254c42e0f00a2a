import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../core/api/client.ts';
import { AckSchema } from '../core/api/schemas.ts';
import { type CaType, caKey } from '../core/auth/cas.ts';
import { pemBundle } from '../core/crypto/pem.ts';
import { auditOf } from './helpers/audit.ts';
import { tp } from './helpers/cli.ts';
import { startTestAuth, startTestCluster, type TestCluster } from './helpers/cluster.ts';
import { dbClientKey, userTlsCert } from './helpers/dbca.ts';

// The admin side of the database CAs, through the real CLI: what a database is configured with
// (`tp ca export --type db_client|db`, `tp ca sign --db`), who may sign, and an upgrade of a cluster made before them.

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
let c: TestCluster;
let tmp: string;
const admin = (args: string[]) => tp([...args, '--data-dir', c.auth.dataDir]);
const caPems = async (type: CaType) => (await c.auth.client.getCa(type)).tlsCerts;

beforeAll(async () => {
  c = await startTestCluster();
  tmp = mkdtempSync(join(tmpdir(), 'tp-dbca-'));
}, 60_000);
afterAll(async () => {
  await c?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('tp ca export and tp ca sign --db', () => {
  test('export --type db_client / db prints the PEM CA certificates; other formats are refused clearly', async () => {
    const client = await admin(['ca', 'export', '--type', 'db_client', '--format', 'pem']);
    expect(client.code).toBe(0);
    expect(client.stdout).toBe(pemBundle(await caPems('db_client')));
    const db = await admin(['ca', 'export', '--type', 'db']);
    expect(db.stdout).toBe(pemBundle(await caPems('db')));
    expect(db.stdout).not.toBe(client.stdout);
    const bad = await admin(['ca', 'export', '--type', 'db', '--format', 'openssh']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('the db CA exports as --format pem');
    const unknown = await admin(['ca', 'export', '--type', 'jwt']);
    expect(unknown.stderr).toContain('--type must be user, host, tls, db or db_client');
  });

  test('sign --db writes server.crt (db CA, SAN, serverAuth), server.key 0600 and ca.crt (db_client CA); audited', async () => {
    const out = join(tmp, 'pg1');
    const r = await admin(['ca', 'sign', '--db', '--host', 'db1.internal', '--ttl', '48h', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ssl_ca_file');
    const cert = new X509Certificate(readFileSync(join(out, 'server.crt')));
    expect(cert.subject).toBe('CN=db1.internal');
    expect(cert.subjectAltName).toBe('DNS:db1.internal');
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    expect(cert.verify(new X509Certificate((await caPems('db'))[0]!).publicKey)).toBe(true);
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThanOrEqual(48 * 3_600_000);
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'server.key'))))).toBe(true);
    expect(statSync(join(out, 'server.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toBe(pemBundle(await caPems('db_client')));
    const ev = (await auditOf(c.auth.admin, 'cert.create')).findLast((e) => e.cert_type === 'db');
    expect(ev).toMatchObject({ success: true, host: 'db1.internal', user: 'admin' });

    const ip = await admin(['ca', 'sign', '--db', '--host', '127.0.0.1', '--out', join(tmp, 'ip'), '--format', 'json']);
    expect(JSON.parse(ip.stdout)).toMatchObject({ kind: 'db', host: '127.0.0.1' });
    const ipCert = new X509Certificate(readFileSync(join(tmp, 'ip', 'server.crt')));
    expect(ipCert.subjectAltName).toBe('IP Address:127.0.0.1');
    // The default lifetime is 2160h (90 days).
    expect(Math.round((Date.parse(ipCert.validTo) - Date.now()) / 3_600_000)).toBe(2160);
  });

  test('sign --db needs --host, and --help says what goes in postgresql.conf and my.cnf', async () => {
    const r = await admin(['ca', 'sign', '--db', '--user', 'alice', '--out', join(tmp, 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--db certifies a database server: give --host NAME');
    const help = await tp(['ca', 'sign', '--help']);
    for (const s of ['ssl_ca_file', 'pg_hba.conf', 'ssl-ca', "REQUIRE SUBJECT '/CN=alice'"])
      expect(help.stdout).toContain(s);
  });

  test('a user whose roles lack cert create cannot sign a database server certificate', async () => {
    await c.auth.client.createUser({ name: 'erin', roles: ['access'], traits: { db_users: ['erin'] } });
    const erin = await userTlsCert(c.auth, 'erin');
    const asErin = new ApiClient([c.proxy.addr], { ca: await caPems('tls'), cert: erin.pem, key: erin.key });
    const body = { hostName: 'db2', tlsPublicKey: dbClientKey().publicKey, ttlMs: 3_600_000 };
    await expect(asErin.post(AckSchema, '/webapi/auth/v1/certs/db', body)).rejects.toThrow('not allowed');
  });
});

describe('rotation', () => {
  test('tp rotate status lists the database CAs, and --type db_client rotates that one alone', async () => {
    const st = JSON.parse((await admin(['rotate', 'status', '--format', 'json'])).stdout) as {
      cas: { type: string }[];
    };
    expect(st.cas.map((x) => x.type)).toEqual(['user', 'host', 'tls', 'db', 'db_client', 'jwt']);
    const started = await admin(['rotate', 'start', '--type', 'db_client', '--manual', '--format', 'json']);
    expect(JSON.parse(started.stdout)).toMatchObject({ phase: 'init', types: ['db_client'] });
    expect(await caPems('db_client')).toHaveLength(2);
    expect(await caPems('db')).toHaveLength(1);
    expect((await admin(['rotate', 'rollback'])).code).toBe(0);
    expect((await admin(['rotate', 'phase', 'standby', '--force'])).code).toBe(0);
    expect(await caPems('db_client')).toHaveLength(1);
  });
});

describe('upgrade', () => {
  test('an existing data dir without the database CAs starts, keeps its CAs and admin identity, and gains them', async () => {
    const auth = await startTestAuth();
    try {
      const before = await Promise.all((['user', 'host', 'tls'] as const).map((t) => auth.client.getCa(t)));
      // What a data dir from before the database CAs holds.
      await auth.server.backend.delete(caKey('db'));
      await auth.server.backend.delete(caKey('db_client'));
      await auth.restart();
      const after = await Promise.all((['user', 'host', 'tls'] as const).map((t) => auth.client.getCa(t)));
      expect(after).toEqual(before);
      const r = await tp(['ca', 'export', '--type', 'db_client', '--data-dir', auth.dataDir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('BEGIN CERTIFICATE');
      expect((await auth.client.getCa('db')).tlsCerts).toHaveLength(1);
    } finally {
      await auth.close();
    }
  }, 60_000);
});
