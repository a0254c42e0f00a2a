import { afterAll, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { SqliteBackend } from '../backend/sqlite.ts';
import { ManualClock } from '../clock.ts';
import { CA_TYPES, caKey, ensureCas } from './cas.ts';

const clock = new ManualClock();
const backend = new SqliteBackend({ path: ':memory:', clock, sweepMs: 0, pollMs: 50 });
afterAll(() => backend.close());

test('a cluster from before the database CAs gets them on its next start, and keeps the CAs it had', async () => {
  const first = await ensureCas(backend, 'c1', clock.now());
  // The state an older version left: only the user, host and tls CAs.
  await backend.delete(caKey('db'));
  await backend.delete(caKey('db_client'));
  await backend.delete(caKey('jwt'));
  const again = await ensureCas(backend, 'c1', clock.now());
  expect(Object.keys(again).sort()).toEqual([...CA_TYPES].sort());
  for (const t of ['user', 'host', 'tls'] as const) expect(again[t]).toEqual(first[t]);
  expect(again.db.active.tls!.cert).not.toBe(first.db.active.tls!.cert);
  expect(again.jwt.active.tls!.cert).not.toBe(first.jwt.active.tls!.cert);
  expect(await ensureCas(backend, 'c1', clock.now())).toEqual(again);
});

test('the X.509 CAs are distinct keys with distinct subjects, and the database and JWT CAs keep no SSH key', async () => {
  const cas = await ensureCas(backend, 'c1', clock.now());
  const certs = (['tls', 'db', 'db_client', 'jwt'] as const).map((t) => new X509Certificate(cas[t].active.tls!.cert));
  expect(new Set(certs.map((c) => c.subject)).size).toBe(4);
  expect(new Set(certs.map((c) => c.fingerprint256)).size).toBe(4);
  expect(certs.map((c) => c.ca)).toEqual([true, true, true, true]);
  expect(certs[3]!.subject).toContain('CN=c1 JWT CA');
  expect(cas.jwt.active.ssh).toBeUndefined();
  expect(certs[1]!.subject).toContain('CN=c1 database CA');
  expect(certs[2]!.subject).toContain('CN=c1 database client CA');
  expect([cas.db.active.ssh, cas.db_client.active.ssh]).toEqual([undefined, undefined]);
});
