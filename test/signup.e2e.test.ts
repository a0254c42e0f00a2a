import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tp } from './helpers/cli.ts';
import { startTestCluster, type TestCluster } from './helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster({ auth: { secondFactor: 'otp' } });
});
afterAll(async () => c.close());

const get = (path: string) =>
  fetch(`https://${c.proxy.addr}${path}`, { tls: { rejectUnauthorized: false } } as RequestInit);

describe('the one-time sign-up link', () => {
  test('the link opens a page with a strict CSP; signing up there sets the password and enrols TOTP', async () => {
    const out = (await tp(['users', 'add', 'nina', '--roles', 'access', '--data-dir', c.auth.dataDir])).stdout;
    const link = /(https:\/\/\S+\/web\/invite\/([A-Za-z0-9_-]+))/.exec(out)!;
    const token = link[2]!;
    const page = await get(`/web/invite/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('<form id="signup"');
    expect(html).not.toContain('<script>');
    expect((await get('/web/assets/invite.js')).headers.get('content-type')).toContain('javascript');

    // What the page's script sends:
    const signup = await fetch(`https://${c.proxy.addr}/webapi/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'a brand new password' }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    const body = (await signup.json()) as { user: string; totpUri: string };
    expect(body.user).toBe('nina');
    expect(body.totpUri).toStartWith('otpauth://totp/');
    const { totpCode } = await import('../core/auth/users.ts');
    const code = totpCode(new URL(body.totpUri).searchParams.get('secret')!, Date.now());
    const home = mkdtempSync(join(tmpdir(), 'tp-signup-'));
    const login = await tp(
      ['login', '--proxy', c.proxy.addr, '--user', 'nina', '--password-stdin', '--otp', code, '--insecure'],
      {
        env: { TP_HOME: home },
        stdin: 'a brand new password',
      },
    );
    expect(login.stdout).toContain('logged in to test.cluster as nina');

    const again = await fetch(`https://${c.proxy.addr}/webapi/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'another new password' }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe(
      'sign-up token is invalid or expired',
    );
  });

  test('a malformed invite path is not served', async () => {
    expect((await get('/web/invite/short')).status).toBe(404);
  });
});
