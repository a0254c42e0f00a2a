import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { totpCode } from '../../core/auth/users.ts';
import { SqliteBackend } from '../../core/backend/sqlite.ts';
import { type WebLogin, webCall, webLogin } from '../helpers/accountWeb.ts';
import { auditOf } from '../helpers/audit.ts';
import { tp } from '../helpers/cli.ts';
import { startTestAuth, startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { me, PASSWORD } from '../helpers/sshFixture.ts';

// A user may enrol several authenticator apps, each named like their security keys: a code of any of them logs
// in, a code is spent on the app it belongs to only, and an account of before (one `totp` secret) keeps working.
const REUSED = 'this second-factor code was already used: wait for the next code';
const STEP = 30_000;
/** The code of `secret` for the step `offset` steps from now. */
const code = (secret: string, offset = 0) => totpCode(secret, Date.now() + offset * STEP);
const secretOf = (uri: string) => new URL(uri).searchParams.get('secret')!;
/** Waits until the clock is early in a 30 s step, so codes of the steps around it stay valid for the test. */
const earlyInStep = () => waitFor('an early moment of a TOTP step', () => Date.now() % STEP < 12_000, 35_000);

describe('several authenticator apps', () => {
  let c: TestCluster;
  let base: string;
  beforeAll(async () => {
    c = await startTestCluster({ auth: { secondFactor: 'otp' } });
    base = `https://${c.proxy.addr}`;
  });
  afterAll(async () => c.close());

  const login = (otp: string) => webLogin(base, { username: 'nia', password: PASSWORD, otp });
  const account = async (session: WebLogin) =>
    (await webCall(base, 'GET', '/webapi/ui/account', { session })).body as {
      devices: { id: string; kind: string; name: string; addedAt?: string }[];
    };

  test('either app logs in, a replay is refused on the app it was used on only, and an app is removed by name', async () => {
    const created = await c.auth.client.createUser({
      name: 'nia',
      roles: ['access'],
      logins: [me],
      password: PASSWORD,
    });
    const first = secretOf(created.totpUri!);
    await earlyInStep();
    const { session } = await login(code(first, -1));
    expect(session).toBeDefined();

    // A second app, named, confirmed with a code of it and a fresh code of the first.
    const begin = await webCall(base, 'POST', '/webapi/ui/account/totp/begin', { session: session!, body: {} });
    const phone = String(begin.body.secret);
    const added = await webCall(base, 'POST', '/webapi/ui/account/totp/finish', {
      session: session!,
      body: { otp: code(phone, -1), name: 'phone', proof: { otp: code(first) } },
    });
    expect(added.status).toBe(200);
    const apps = (await account(session!)).devices;
    expect(apps.map((d) => [d.kind, d.name])).toEqual([
      ['totp', 'authenticator'],
      ['totp', 'phone'],
    ]);
    for (const d of apps) expect(Date.parse(d.addedAt!)).toBeGreaterThan(Date.now() - 60_000);
    // A second app under a name already taken is refused before anything is checked.
    await webCall(base, 'POST', '/webapi/ui/account/totp/begin', { session: session!, body: {} });
    const dup = await webCall(base, 'POST', '/webapi/ui/account/totp/finish', {
      session: session!,
      body: { otp: '123456', name: 'phone' },
    });
    expect(dup.status).toBe(400);
    expect(dup.body.error?.message).toBe('an authenticator app named "phone" exists: choose another name');

    // The phone's code of the step the first app spent on the confirmation logs in: a code is spent per app.
    const withPhone = code(phone);
    expect((await login(withPhone)).status).toBe(200);
    const replay = await login(withPhone);
    expect(replay.status).toBe(403);
    expect(replay.body.error?.message).toBe(REUSED);
    expect((await login(code(first, 1))).status).toBe(200);

    // The first app removed, confirmed with a code of the phone.
    const firstId = apps.find((d) => d.name === 'authenticator')!.id;
    const phoneId = apps.find((d) => d.name === 'phone')!.id;
    const remove = (id: string, otp?: string) =>
      webCall(base, 'POST', '/webapi/ui/account/devices/remove', {
        session: session!,
        body: { id, ...(otp ? { proof: { otp } } : {}) },
      });
    const removed = await remove(firstId, code(phone, 1));
    expect(removed.status).toBe(200);
    expect((await account(session!)).devices.map((d) => d.name)).toEqual(['phone']);
    const gone = await login(code(first, 1));
    expect(gone.status).toBe(403);
    expect(gone.body.error?.message).toBe('invalid or reused second-factor code');
    // The phone is the last app and this cluster asks for a code at login: it stays, and the person is told why.
    const last = await remove(phoneId);
    expect(last.status).toBe(400);
    expect(last.body.error?.message).toBe(
      'this is your last authenticator app and the cluster asks for a code of one at login (second_factor: otp): ' +
        'add another app first',
    );

    // Audited by the app's name, never with a secret.
    const adds = (await auditOf(c.auth.admin, 'mfa.add')).filter((e) => e.user === 'nia');
    expect(adds.some((e) => e.success !== false && e.kind === 'totp' && e.device === 'phone')).toBe(true);
    const removes = (await auditOf(c.auth.admin, 'mfa.remove')).filter((e) => e.user === 'nia');
    expect(removes.some((e) => e.success !== false && e.kind === 'totp' && e.device === 'authenticator')).toBe(true);
    const all = JSON.stringify([...adds, ...removes, ...(await auditOf(c.auth.admin, 'user.login'))]);
    expect(all).not.toContain(first);
    expect(all).not.toContain(phone);
  });
});

test('an account stored before several apps (one `totp` secret) logs in from its data dir, replay state kept', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-totp-upgrade-'));
  try {
    const auth = await startTestAuth({ dataDir, secondFactor: 'otp' });
    const created = await auth.client.createUser({ name: 'old', roles: ['access'], logins: [me], password: PASSWORD });
    const secret = secretOf(created.totpUri!);
    await auth.close();
    // Rewrite the record as the version before stored it: one secret, its last spent step the current one.
    await earlyInStep();
    const store = new SqliteBackend({ path: join(dataDir, 'backend.sqlite') });
    const item = (await store.get('/users/old'))!;
    const { totpDevices: _d, ...rest } = v.parse(v.record(v.string(), v.unknown()), JSON.parse(item.value));
    const legacy = { ...rest, totp: { secret, lastStep: Math.floor(Date.now() / STEP) } };
    await store.put({ key: '/users/old', value: JSON.stringify(legacy) });
    await store.close();

    await using c = await startTestCluster({ auth: { dataDir, secondFactor: 'otp' } });
    const base = `https://${c.proxy.addr}`;
    const login = (otp: string) => webLogin(base, { username: 'old', password: PASSWORD, otp });
    const replayed = await login(code(secret));
    expect(replayed.body.error?.message).toBe(REUSED);
    const ok = await login(code(secret, 1));
    expect(ok.status).toBe(200);
    const view = await webCall(base, 'GET', '/webapi/ui/account', { session: ok.session! });
    expect(view.body.devices).toEqual([
      { id: 'totp', kind: 'totp', name: 'authenticator', addedAt: String(rest.createdAt) },
    ]);
    const ls = await tp(['users', 'ls', '--format', 'json', '--data-dir', dataDir]);
    expect(ls.code).toBe(0);
    const row = (JSON.parse(ls.stdout) as Record<string, unknown>[]).find((u) => u.name === 'old')!;
    expect(row.has_totp).toBe(true);
    expect(JSON.stringify(row)).not.toContain(secret);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
