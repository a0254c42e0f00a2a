import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { totpCode } from '../../core/auth/users.ts';
import { webCall, webLogin } from '../helpers/accountWeb.ts';
import { auditOf } from '../helpers/audit.ts';
import { tp } from '../helpers/cli.ts';
import { startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { me, PASSWORD } from '../helpers/sshFixture.ts';

// Finding 7 of issue 15: four parallel logins (two `tp login`, two web) with one TOTP code all succeeded, because
// the last-used step was read before the password check and written later without a compare.
let c: TestCluster;
let secret: string;
const homes: string[] = [];

beforeAll(async () => {
  c = await startTestCluster({ auth: { secondFactor: 'otp' } });
  const created = await c.auth.client.createUser({
    name: 'rita',
    roles: ['access'],
    logins: [me],
    password: PASSWORD,
  });
  secret = new URL(created.totpUri!).searchParams.get('secret')!;
});
afterAll(async () => {
  await c.close();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

const cliLogin = (otp: string) => {
  const home = mkdtempSync(join(tmpdir(), 'tp-replay-home-'));
  homes.push(home);
  return tp(['login', '--proxy', c.proxy.addr, '--user', 'rita', '--password-stdin', '--insecure', '--otp', otp], {
    env: { TP_HOME: home },
    stdin: PASSWORD,
  });
};

const REUSED = 'this second-factor code was already used: wait for the next code';

test('one TOTP code used by two CLI and two web logins at once logs in exactly once; the rest are told and audited', async () => {
  // A fresh code: well inside its 30 s step, so every racer sends a code that is valid on its own.
  while (Date.now() % 30_000 > 20_000) await Bun.sleep(100);
  const code = totpCode(secret, Date.now());
  const base = `https://${c.proxy.addr}`;
  const [cli1, cli2, web1, web2] = await Promise.all([
    cliLogin(code),
    cliLogin(code),
    webLogin(base, { username: 'rita', password: PASSWORD, otp: code }),
    webLogin(base, { username: 'rita', password: PASSWORD, otp: code }),
  ]);
  const cliOk = [cli1!, cli2!].filter((r) => r.code === 0);
  const webOk = [web1!, web2!].filter((r) => r.status === 200);
  expect(cliOk.length + webOk.length).toBe(1);
  for (const r of [cli1!, cli2!].filter((x) => x.code !== 0)) {
    expect(r.code).toBe(5);
    expect(r.stderr).toEndWith(`\nerror: ${REUSED}\n`);
  }
  for (const r of [web1!, web2!].filter((x) => x.status !== 200)) {
    expect(r.status).toBe(403);
    expect(r.body.error?.message).toBe(REUSED);
  }
  const refusals = async () =>
    (await auditOf(c.auth.admin, 'user.login')).filter((e) => e.success === false && e.error === REUSED);
  await waitFor('three audited refusals', async () => (await refusals()).length === 3);
  // The next step's code (accepted one step early) still logs in: the refusals were replays, not a lockout.
  const next = totpCode(secret, Date.now() + 30_000);
  const again = await webLogin(base, { username: 'rita', password: PASSWORD, otp: next });
  expect(again.status).toBe(200);
});

test('the code that confirmed the app at sign-up cannot log in afterwards', async () => {
  const base = `https://${c.proxy.addr}`;
  const created = await c.auth.client.createUser({
    name: 'sam',
    roles: ['access'],
    logins: [me],
  });
  const token = created.signupUrl!.split('/').pop()!;
  const info = await webCall(base, 'POST', '/webapi/signup/info', { body: { token } });
  const totp = info.body.totp as { secret: string };
  while (Date.now() % 30_000 > 20_000) await Bun.sleep(100);
  const code = totpCode(totp.secret, Date.now());
  const signup = await webCall(base, 'POST', '/webapi/signup', { body: { token, password: PASSWORD, otp: code } });
  expect(signup.status).toBe(200);
  const replay = await webLogin(base, { username: 'sam', password: PASSWORD, otp: code });
  expect(replay.status).toBe(403);
  expect(replay.body.error?.message).toBe(REUSED);
  const next = await webLogin(base, {
    username: 'sam',
    password: PASSWORD,
    otp: totpCode(totp.secret, Date.now() + 30_000),
  });
  expect(next.status).toBe(200);
});
