import { afterAll, beforeAll, expect, test } from 'bun:test';
import { totpCode } from '../core/auth/users.ts';
import { webCall, webLogin } from './helpers/accountWeb.ts';
import { startTestCluster, type TestCluster } from './helpers/cluster.ts';
import { me, PASSWORD } from './helpers/sshFixture.ts';

// Issue 24 (web UI, Account): with `second_factor: otp` the login page only ever asks for a code, so a security key
// added on the account page looked like a second factor and could never be used. It is refused, and said why.
let c: TestCluster;
let secret: string;

beforeAll(async () => {
  c = await startTestCluster({ auth: { secondFactor: 'otp' } });
  const created = await c.auth.client.createUser({
    name: 'otto',
    roles: ['access'],
    logins: [me],
    password: PASSWORD,
  });
  secret = new URL(created.totpUri!).searchParams.get('secret')!;
});
afterAll(async () => c?.close());

test('with second_factor: otp, adding a security key is refused with the reason, before any registration starts', async () => {
  const base = `https://${c.proxy.addr}`;
  const r = await webLogin(base, { username: 'otto', password: PASSWORD, otp: totpCode(secret, Date.now()) });
  expect(r.status).toBe(200);
  const account = await webCall(base, 'GET', '/webapi/ui/account', { session: r.session });
  expect(account.body.secondFactor).toBe('otp');
  const begin = await webCall(base, 'POST', '/webapi/ui/account/webauthn/begin', { session: r.session, body: {} });
  expect(begin.status).toBe(400);
  expect(begin.body.error?.message).toBe(
    'this cluster asks for an authenticator app code at login (second_factor: otp), never a security key: ' +
      'a key added here could not be used to log in',
  );
});
