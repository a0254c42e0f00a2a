import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { totpCode } from '../core/auth/users.ts';
import { tp } from './helpers/cli.ts';
import { startTestCluster, type TestCluster } from './helpers/cluster.ts';
import { me, PASSWORD } from './helpers/sshFixture.ts';

let c: TestCluster;
let secret: string;
const home = mkdtempSync(join(tmpdir(), 'tp-otp-home-'));

beforeAll(async () => {
  c = await startTestCluster({ agents: [{ name: 'n1' }], auth: { secondFactor: 'otp' } });
  const created = await c.auth.client.createUser({
    name: 'olga',
    roles: ['access'],
    logins: [me === 'root' ? 'olga' : me],
    password: PASSWORD,
  });
  secret = new URL(created.totpUri!).searchParams.get('secret')!;
});
afterAll(async () => c.close());

const login = (otp?: string) =>
  tp(
    [
      'login',
      '--proxy',
      c.proxy.addr,
      '--user',
      'olga',
      '--password-stdin',
      '--insecure',
      ...(otp ? ['--otp', otp] : []),
    ],
    { env: { TP_HOME: home }, stdin: PASSWORD },
  );

describe('tp login with a second factor, through the proxy', () => {
  test('without a terminal, a missing code is a clear error', async () => {
    const r = await login();
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('Second-factor code (6 digits) is needed, but there is no terminal to ask');
  });

  test('the right code logs in; the same code again is refused as reused', async () => {
    const code = totpCode(secret, Date.now());
    const ok = await login(code);
    expect(ok.stderr).not.toContain('error');
    expect(ok.stdout).toContain('logged in to test.cluster as olga');
    const again = await login(code);
    expect(again.code).toBe(5);
    expect(again.stderr).toEndWith('\nerror: this second-factor code was already used: wait for the next code\n');
  });

  test('a malformed code is refused before it reaches auth', async () => {
    const r = await login('12ab56');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the second-factor code has 6 digits');
  });
});
