import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { totpCode } from '../../core/auth/users.ts';
import { type WebLogin, webCall, webLogin } from '../helpers/accountWeb.ts';
import { auditOf } from '../helpers/audit.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { me, PASSWORD } from '../helpers/sshFixture.ts';

// Finding 8 of issue 15: with a stolen web session, 25 wrong `oldPassword` tries and then the right one changed the
// password (no lockout, no rate limit), and second factors were added or removed with the session alone.
let c: TestCluster;
let base: string;

beforeAll(async () => {
  c = await startTestCluster({ auth: { secondFactor: 'off' } });
  base = `https://${c.proxy.addr}`;
});
afterAll(async () => c.close());

async function userWithSession(name: string): Promise<WebLogin> {
  await c.auth.client.createUser({ name, roles: ['access'], logins: [me], password: PASSWORD });
  const r = await webLogin(base, { username: name, password: PASSWORD });
  expect(r.status).toBe(200);
  return r.session!;
}

const events = async (type: string, user: string) => (await auditOf(c.auth.admin, type)).filter((e) => e.user === user);

describe('a stolen web session cannot guess the password', () => {
  test('wrong current passwords count towards the login lockout: the account and the session lock, then the right one fails', async () => {
    const session = await userWithSession('vic');
    const NEW = 'a brand new password 99';
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await webCall(base, 'POST', '/webapi/ui/account/password', {
        session,
        body: { oldPassword: `guess number ${i} wrong`, newPassword: NEW },
      });
      answers.push(r.status);
      if (i < 4) expect(r.body.error?.message).toBe('the current password is wrong');
    }
    // Four refusals, the fifth failure locks the account out, and every later try is refused as locked.
    expect(answers.slice(0, 4)).toEqual([403, 403, 403, 403]);
    expect(new Set(answers.slice(4))).toEqual(new Set([423]));
    const right = await webCall(base, 'POST', '/webapi/ui/account/password', {
      session,
      body: { oldPassword: PASSWORD, newPassword: NEW },
    });
    expect(right.status).toBe(423);
    expect(right.body.error?.message).toContain('locked');
    // The session (its certificate) is locked too, not just the password form.
    expect((await webCall(base, 'GET', '/webapi/ui/nodes', { session })).status).toBe(423);
    expect(await events('user.locked_out', 'vic')).toHaveLength(1);
    const changes = await events('user.password_change', 'vic');
    expect(changes.filter((e) => e.success === false)).toHaveLength(5);
    expect(changes.filter((e) => e.success === true)).toHaveLength(0);
    // A login with the guessed-at "new" password fails: nothing was changed.
    expect((await webLogin(base, { username: 'vic', password: NEW })).status).toBe(423);
  });
});

describe('changing second factors needs a fresh factor', () => {
  test('adding an authenticator app needs the password (no factor yet); removing it needs a fresh code of it', async () => {
    const session = await userWithSession('wes');
    const begin = await webCall(base, 'POST', '/webapi/ui/account/totp/begin', { session, body: {} });
    expect(begin.status).toBe(200);
    const secret = String(begin.body.secret);
    const first = totpCode(secret, Date.now());
    const bare = await webCall(base, 'POST', '/webapi/ui/account/totp/finish', { session, body: { otp: first } });
    expect(bare.status).toBe(403);
    expect(bare.body.error?.message).toBe('adding an authenticator app needs your password');
    const wrong = await webCall(base, 'POST', '/webapi/ui/account/totp/finish', {
      session,
      body: { otp: first, proof: { password: 'not my password at all' } },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error?.message).toBe('the password is wrong');
    const ok = await webCall(base, 'POST', '/webapi/ui/account/totp/finish', {
      session,
      body: { otp: first, proof: { password: PASSWORD } },
    });
    expect(ok.status).toBe(200);
    expect((await webCall(base, 'GET', '/webapi/ui/account', { session })).body.confirmWith).toEqual(['otp']);

    // A security key cannot be added with the session alone either (refused before the registration is looked at).
    const key = await webCall(base, 'POST', '/webapi/ui/account/webauthn/finish', {
      session,
      body: { response: { id: 'AAAA', type: 'public-key' }, name: 'thief key' },
    });
    expect(key.status).toBe(403);
    expect(key.body.error?.message).toBe(
      'adding a security key needs a fresh second factor: the current code of your authenticator app',
    );

    // The app's ID as the account page reads it.
    const view = await webCall(base, 'GET', '/webapi/ui/account', { session });
    const [app] = view.body.devices as { id: string; name: string }[];
    expect(app!.name).toBe('authenticator');
    const remove = (proof?: unknown) =>
      webCall(base, 'POST', '/webapi/ui/account/devices/remove', { session, body: { id: app!.id, proof } });
    const noProof = await remove();
    expect(noProof.status).toBe(403);
    expect(noProof.body.error?.message).toBe(
      'removing authenticator needs a fresh second factor: the current code of your authenticator app',
    );
    // The code that confirmed the app is spent; the password is no proof once a factor is enrolled.
    expect((await remove({ otp: first })).body.error?.message).toBe(
      'this second-factor code was already used: wait for the next code',
    );
    expect((await remove({ password: PASSWORD })).status).toBe(403);
    const removed = await remove({ otp: totpCode(secret, Date.now() + 30_000) });
    expect(removed.status).toBe(200);
    expect((await webCall(base, 'GET', '/webapi/ui/account', { session })).body.devices).toEqual([]);
    expect((await events('mfa.remove', 'wes')).filter((e) => e.success === false)).toHaveLength(3);
    expect((await events('mfa.add', 'wes')).filter((e) => e.success === false && e.kind === 'totp')).toHaveLength(2);
  });
});

describe('account changes share the login rate limit', () => {
  test('beyond the per-minute attempts, even the right current password is refused without being checked', async () => {
    await using limited = await startTestCluster({
      auth: { secondFactor: 'off', lockout: { maxFailures: 100, windowMs: 60_000, lockoutMs: 60_000, perMinute: 3 } },
    });
    const at = `https://${limited.proxy.addr}`;
    await limited.auth.client.createUser({ name: 'rae', roles: ['access'], logins: [me], password: PASSWORD });
    const { session } = await webLogin(at, { username: 'rae', password: PASSWORD });
    // The login was one attempt of this minute; two wrong guesses use up the rest.
    for (let i = 0; i < 2; i++) {
      const r = await webCall(at, 'POST', '/webapi/ui/account/password', {
        session,
        body: { oldPassword: `wrong guess ${i}`, newPassword: 'a brand new password 99' },
      });
      expect(r.status).toBe(403);
    }
    const right = await webCall(at, 'POST', '/webapi/ui/account/password', {
      session,
      body: { oldPassword: PASSWORD, newPassword: 'a brand new password 99' },
    });
    expect(right.status).toBe(429);
    expect(right.body.error?.message).toMatch(/^too many login attempts for "rae"; try again in \d+s$/);
  });
});
