import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { auditOf } from './helpers/audit.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { tp, tpSpawn } from './helpers/cli.ts';
import { type GitHubStandIn, startGitHubStandIn } from './helpers/githubStandIn.ts';
import { startOidcIdp, type TestIdp } from './helpers/oidcIdp.ts';
import { type OidcStandIn, startOidcStandIn } from './helpers/oidcStandIn.ts';
import { me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';
import { confirmWhenAsked, ssoCliLogin } from './helpers/ssoCliLogin.ts';
import { githubSignIn, oidcLogInHere, oidcSignIn } from './helpers/ssoSignIn.ts';

// Single sign-on end to end: a real OpenID Provider (oidc-provider) and a GitHub stand-in on loopback, the real
// `tp login --auth` waiting on its loopback port, and Debian's Chromium clicking through the provider's pages.
if (!haveChromium())
  console.warn('SKIPPING the SSO tests: /usr/bin/chromium is not installed (apt-get install chromium)');

let f: SshFixture;
let b: TestBrowser;
let idp: TestIdp;
let gh: GitHubStandIn;
let proxy: string;
let rogue: OidcStandIn;
/** Who is in which group at the OpenID Provider (tests change it between logins). */
const groups: Record<string, string[]> = { olivia: ['devs'], sam: ['sales'], tess: ['devs', 'qa'] };

const home = () => mkdtempSync(join(tmpdir(), 'tp-sso-home-'));

/** Runs `tp login --auth NAME`, signs in in the browser with `signIn`, and returns the finished command. */
const cliLogin = (connector: string, tpHome: string, signIn: (page: Page, url: string) => Promise<void>) =>
  ssoCliLogin({ browser: b.browser, proxy, connector, home: tpHome, signIn });

async function audited(type: string, match: (e: Record<string, unknown>) => boolean): Promise<boolean> {
  return (await auditOf(f.cluster.auth.admin, type)).some(match);
}

describe.skipIf(!haveChromium())('single sign-on', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'sso-node' }], { secondFactor: 'otp' });
    proxy = f.cluster.proxy.addr;
    const port = proxy.split(':')[1];
    await f.role(`metadata: {name: sso-dev}\nspec:\n  allow: {logins: ["${me}"], node_labels: {"*": "*"}}\n`);
    await f.role('metadata: {name: sso-ops}\nspec:\n  allow: {rules: [{resources: [audit], verbs: [list, read]}]}\n');
    idp = await startOidcIdp({
      clientId: 'tp-client',
      clientSecret: 'oidc-client-secret',
      redirectUris: [`https://127.0.0.1:${port}/webapi/sso/callback`, `https://localhost:${port}/webapi/sso/callback`],
      groups,
    });
    gh = startGitHubStandIn({
      clientId: 'gh-client',
      clientSecret: 'gh-client-secret',
      users: { gina: { teams: ['acme/devs'] }, hank: { teams: ['acme/sales'] } },
    });
    rogue = await startOidcStandIn({ clientId: 'rogue-client', clientSecret: 'rogue-secret', subject: 'rita' });
    b = await startBrowser(proxy);
  });
  afterAll(async () => {
    await b?.close();
    await gh?.close();
    await rogue?.close();
    await idp?.close();
    await f?.close();
  });

  test('tp sso add/ls: connectors are stored without showing their secret; bad input is refused clearly', async () => {
    const oidc = await f.admin(
      [
        'sso',
        'add',
        'oidc',
        '--name',
        'idp',
        '--issuer',
        idp.issuer,
        '--client-id',
        'tp-client',
        '--client-secret-stdin',
        '--claims-to-roles',
        'groups=devs=sso-dev,groups=ops=sso-ops',
        '--scopes',
        'email,profile,groups',
        '--proxy',
        proxy,
      ],
      'oidc-client-secret\n',
    );
    expect(oidc.code).toBe(0);
    expect(oidc.stdout).toContain(`register this callback URL with the provider: https://${proxy}/webapi/sso/callback`);
    const github = await f.admin(
      [
        'sso',
        'add',
        'github',
        '--name',
        'gh',
        '--endpoint-url',
        gh.url,
        '--client-id',
        'gh-client',
        '--client-secret-stdin',
        '--teams-to-roles',
        'acme/devs=sso-dev',
      ],
      'gh-client-secret\n',
    );
    expect(github.code).toBe(0);
    const ls = await f.admin(['sso', 'ls', '--format', 'json']);
    const list = JSON.parse(ls.stdout) as Record<string, unknown>[];
    expect(list.map((c) => c.name)).toEqual(['gh', 'idp']);
    expect(list.find((c) => c.name === 'gh')).toMatchObject({ api_url: `${gh.url}/api/v3`, has_secret: true });
    // No secret's value ("...-secret"); has_secret says only whether one is set.
    expect(ls.stdout.replaceAll('"has_secret"', '')).not.toContain('secret"');
    expect(ls.stdout).not.toContain('client-secret');

    const noSecret = await f.admin([
      'sso',
      'add',
      'oidc',
      '--name',
      'x',
      '--issuer',
      idp.issuer,
      '--client-id',
      'a',
      '--claims-to-roles',
      'g=v=sso-dev',
    ]);
    expect(noSecret.stderr).toContain('--client-secret-stdin');
    const badMap = await f.admin(
      [
        'sso',
        'add',
        'github',
        '--name',
        'x',
        '--client-id',
        'a',
        '--client-secret-stdin',
        '--teams-to-roles',
        'acme-devs',
      ],
      's\n',
    );
    expect(badMap.stderr).toContain('"acme-devs" is not ORG/TEAM=ROLE');
    const badRole = await f.admin(
      [
        'sso',
        'add',
        'github',
        '--name',
        'x',
        '--client-id',
        'a',
        '--client-secret-stdin',
        '--teams-to-roles',
        'acme/devs=nope',
      ],
      's\n',
    );
    expect(badRole.stderr).toContain('unknown role(s) in the mapping: nope');
    const http = await f.admin(
      [
        'sso',
        'add',
        'oidc',
        '--name',
        'x',
        '--issuer',
        'http://idp.example.com',
        '--client-id',
        'a',
        '--client-secret-stdin',
        '--claims-to-roles',
        'g=v=sso-dev',
      ],
      's\n',
    );
    expect(http.stderr).toContain('must be https');
    const check = await f.admin(['sso', 'test', 'idp', '--provider-only']);
    expect(check.stdout).toContain(`provider: issuer ${idp.issuer}: discovery read`);
  });

  test('OIDC: tp login --auth finishes when the browser comes back; the new user is an SSO user; tp ssh works', async () => {
    const h = home();
    const { result, landed } = await cliLogin('idp', h, (page, url) => oidcSignIn(page, url, 'olivia'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('logged in to test.cluster as olivia');
    expect(landed).toContain('You can close this tab');
    const ssh = await tp(['ssh', `${me}@sso-node`, 'echo', 'sso-ok'], { env: { TP_HOME: h } });
    expect(ssh.stdout.trim()).toBe('sso-ok');
    const users = JSON.parse((await f.admin(['users', 'ls', '--format', 'json'])).stdout) as Record<string, unknown>[];
    expect(users.find((u) => u.name === 'olivia')).toMatchObject({
      roles: ['sso-dev'],
      sso: 'idp',
      has_password: false,
    });
    expect(await audited('sso.login', (e) => e.user === 'olivia' && e.success === true)).toBe(true);
  });

  test("an SSO user's roles follow the provider's groups on every login", async () => {
    const rolesAfterLogin = async () => {
      const { result } = await cliLogin('idp', home(), (page, url) => oidcSignIn(page, url, 'olivia'));
      expect(result.code).toBe(0);
      const users = JSON.parse((await f.admin(['users', 'ls', '--format', 'json'])).stdout) as Record<
        string,
        unknown
      >[];
      return users.find((u) => u.name === 'olivia')!.roles;
    };
    groups.olivia = ['devs', 'ops'];
    expect(await rolesAfterLogin()).toEqual(['sso-dev', 'sso-ops']);
    groups.olivia = ['ops'];
    expect(await rolesAfterLogin()).toEqual(['sso-ops']);
    groups.olivia = ['devs'];
  });

  test('OIDC in the web UI: "Sign in with idp" ends on the servers page, even if the proxy restarted meanwhile', async () => {
    const page = await b.newPage();
    await page.goto(`https://localhost:${proxy.split(':')[1]}/web/login`);
    await page.getByRole('link', { name: /Sign in with idp/ }).click();
    await page.locator('input[name="login"]').waitFor();
    // The login's state and key are kept by auth, so the provider may send the browser back to any proxy.
    await f.cluster.restartProxy();
    await oidcLogInHere(page, 'olivia');
    await page.locator('tr[data-node="sso-node"]').waitFor();
    expect(await page.getByTestId('who').textContent()).toBe('olivia');
    await page.close();
  });

  test('GitHub: a member of a mapped team logs in and gets its roles; PKCE and the secret reach GitHub', async () => {
    const h = home();
    const { result } = await cliLogin('gh', h, (page, url) => githubSignIn(page, url, 'gina'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('as gina');
    expect((await tp(['ssh', `${me}@sso-node`, 'echo', 'gh-ok'], { env: { TP_HOME: h } })).stdout.trim()).toBe('gh-ok');
    const req = gh.tokenRequests.at(-1)!;
    expect(req.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(req.get('client_secret')).toBe('gh-client-secret');
  });

  test('GitHub: a user in no mapped team is refused with the reason, and it is audited', async () => {
    const { result, landed } = await cliLogin('gh', home(), (page, url) => githubSignIn(page, url, 'hank'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      '"hank" may not log in: none of the teams [acme/sales] map to a role of connector "gh"',
    );
    expect(landed).toContain('Sign-in failed');
    expect(
      await audited('sso.login', (e) => e.success === false && String(e.error).includes('"hank" may not log in')),
    ).toBe(true);
    const users = JSON.parse((await f.admin(['users', 'ls', '--format', 'json'])).stdout) as { name: string }[];
    expect(users.map((u) => u.name)).not.toContain('hank');
  });

  test('a tampered state and a replayed callback are refused with a clear error', async () => {
    const { result, callbacks } = await cliLogin('idp', home(), (page, url) => oidcSignIn(page, url, 'olivia'));
    expect(result.code).toBe(0);
    const replay = await fetch(callbacks[0]!, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(replay.status).toBe(403);
    expect(await replay.text()).toContain('its state is unknown, already used or expired');
    const tampered = new URL(callbacks[0]!);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
    const t = await fetch(tampered, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(t.status).toBe(403);
    expect(await t.text()).toContain('its state is unknown');
    expect(await audited('sso.login', (e) => e.success === false && String(e.error).includes('state is unknown'))).toBe(
      true,
    );
  });

  test('ID tokens that expired, name another audience or nonce, or are signed by a foreign key are refused', async () => {
    const add = await f.admin(
      [
        'sso',
        'add',
        'oidc',
        '--name',
        'rogue',
        '--issuer',
        rogue.issuer,
        '--client-id',
        'rogue-client',
        '--client-secret-stdin',
        '--claims-to-roles',
        'groups=devs=sso-dev',
      ],
      'rogue-secret\n',
    );
    expect(add.code).toBe(0);
    const expect_ = {
      expired: 'the ID token has expired',
      'wrong-audience': 'the ID token\'s "aud" claim is wrong',
      'wrong-nonce': "the ID token's nonce does not match this login",
      'foreign-key': 'the ID token signature does not verify',
    } as const;
    for (const [fault, message] of Object.entries(expect_)) {
      rogue.fault = fault as keyof typeof expect_;
      const { result } = await cliLogin('rogue', home(), async (page, url) => {
        await page.goto(url);
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
    rogue.fault = 'none';
    const ok = await cliLogin('rogue', home(), async (page, url) => {
      await page.goto(url);
    });
    expect(ok.result.stdout).toContain('as rita');
  });

  test('tp sso test shows what the provider returns and the mapped roles, and creates nothing', async () => {
    const ssoTest = async (login: string) => {
      const run = tpSpawn([
        'sso',
        'test',
        'idp',
        '--proxy',
        proxy,
        '--insecure',
        '--browser',
        'none',
        '--data-dir',
        f.cluster.auth.dataDir,
        '--format',
        'json',
      ]);
      const url = (await run.stderrMatch(/to test "idp":\n\s+(\S+)/))[1]!;
      const ctx = await b.browser.newContext();
      const page = await ctx.newPage();
      await oidcSignIn(page, url, login);
      const finished = run.done();
      await confirmWhenAsked(page, finished);
      const result = await finished;
      await ctx.close();
      return result;
    };
    const tess = await ssoTest('tess');
    expect(tess.code).toBe(0);
    expect(JSON.parse(tess.stdout)).toMatchObject({
      user: 'tess',
      roles: ['sso-dev'],
      identity: { preferred_username: 'tess', groups: ['devs', 'qa'], iss: idp.issuer },
    });
    // sam is in no mapped group: the test says so, and exits non-zero as the login would fail.
    const sam = await ssoTest('sam');
    expect(sam.code).not.toBe(0);
    expect(sam.stderr).toContain('"sam" may not log in');
    const users = JSON.parse((await f.admin(['users', 'ls', '--format', 'json'])).stdout) as { name: string }[];
    expect(users.map((u) => u.name)).not.toContain('tess');
    expect(users.map((u) => u.name)).not.toContain('sam');
  });

  test('tp sso rm removes a connector; logging in through it is then refused', async () => {
    expect((await f.admin(['sso', 'rm', 'gh'])).code).toBe(0);
    const r = await tp(['login', '--auth', 'gh', '--proxy', proxy, '--insecure', '--browser', 'none'], {
      env: { TP_HOME: home() },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no SSO connector "gh"');
  });
});
