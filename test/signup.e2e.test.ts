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
  test('the link opens the web UI with a strict CSP; signing up without a code enrols TOTP (the command-line path)', async () => {
    const out = (await tp(['users', 'add', 'nina', '--roles', 'access', '--data-dir', c.auth.dataDir])).stdout;
    const link = /(https:\/\/\S+\/web\/invite\/([A-Za-z0-9_-]+))/.exec(out)!;
    const token = link[2]!;
    const page = await get(`/web/invite/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/web/assets/app.js">');
    expect(html).not.toContain('<script>');
    expect((await get('/web/assets/app.js')).headers.get('content-type')).toContain('javascript');

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
      'sign-up link is invalid or expired; ask an admin for a new one (`tp users reset`)',
    );
  });

  test('an unknown invite token gets a clear answer and nothing else', async () => {
    const info = await fetch(`https://${c.proxy.addr}/webapi/signup/info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'short' }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(info.status).toBe(404);
    expect(((await info.json()) as { error: { message: string } }).error.message).toContain(
      'sign-up link is invalid or expired',
    );
    expect((await get('/web/invite/bad.token')).status).toBe(404);
  });
});
