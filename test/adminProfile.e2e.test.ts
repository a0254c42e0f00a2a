import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../core/api/client.ts';
import { AckSchema } from '../core/api/schemas.ts';
import { defaultDataDir } from '../core/config/defaults.ts';
import { clientKeys } from './helpers/cluster.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The CLI falls back to the profile only when the default data dir holds no admin identity.
const hostHasAdmin = existsSync(join(defaultDataDir(), 'admin', 'tls.crt'));
if (hostHasAdmin)
  console.error(`!!! SKIPPED admin-from-profile tests: ${defaultDataDir()} holds an admin identity on this host`);

let f: SshFixture;
let boss: FixtureUser;
let alice: FixtureUser;
beforeAll(async () => {
  f = await startSshFixture([]);
  boss = await f.user('boss', ['admin']);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

describe.skipIf(hostHasAdmin)('admin commands from a profile, through the proxy', () => {
  test('an admin user manages the cluster with their own certificate', async () => {
    const env = { TP_DATA_DIR: '' };
    const users = JSON.parse((await boss.tp(['users', 'ls', '--format', 'json'], { env })).stdout);
    expect(users.map((u: { name: string }) => u.name).sort()).toEqual(['alice', 'boss']);
    const add = await boss.tp(['users', 'add', 'carol', '--roles', 'access'], { env });
    expect(add.code).toBe(0);
    const created = await f.cluster.auth.client.searchEvents(new URLSearchParams({ type: 'user.create' }));
    expect(created.some((e) => e.user === 'boss' && e.target === 'carol')).toBe(true);
  });

  test('a user without admin rules is refused by auth, by their own roles, and audited', async () => {
    const r = await alice.tp(['users', 'ls'], { env: { TP_DATA_DIR: '' } });
    expect(r.code).toBe(5);
    expect(r.stderr).toBe('error: "list" on user is not allowed by roles [ops]\n');
    expect((await auditEvents(f, 'auth.attempt')).some((e) => e.user === 'alice' && e.action === 'user.list')).toBe(
      true,
    );
  });
});

describe('a proxy cannot make up a forwarded identity', () => {
  test('a certificate not signed by the cluster CA is refused', async () => {
    const proxy = await f.cluster.auth.proxy();
    const { createTlsCA, issueTlsCert } = await import('../core/crypto/x509.ts');
    const rogue = await createTlsCA('test.cluster', Date.now());
    const k = clientKeys();
    const fake = await issueTlsCert({
      ca: rogue,
      publicKey: k.tls.publicKey,
      subject: { commonName: 'boss', organization: ['admin'], identity: { kind: 'user' } },
      now: Date.now(),
      ttlMs: 60_000,
      usage: 'client',
    });
    const der = Buffer.from(fake.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const err = await (proxy as ApiClient)
      .send(AckSchema, 'GET', '/v1/users', undefined, { 'x-tp-forwarded-cert': der })
      .catch((e: Error) => e);
    expect((err as Error).message).toBe('forwarded certificate is not signed by this cluster');
  });
});
