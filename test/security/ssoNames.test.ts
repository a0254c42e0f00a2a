import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditOf } from '../helpers/audit.ts';
import { haveChromium, startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { type GitHubStandIn, startGitHubStandIn } from '../helpers/githubStandIn.ts';
import { startOidcIdp, type TestIdp } from '../helpers/oidcIdp.ts';
import { type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';
import { ssoCliLogin } from '../helpers/ssoCliLogin.ts';
import { githubSignIn, oidcSignIn } from '../helpers/ssoSignIn.ts';

// Issue 15, finding 2: SSO account takeover by name collision. Distinct provider accounts whose names reduce to
// the same tp user name ("sam") must never become one user: the user belongs to the first account (connector,
// issuer, subject) and every other account is refused, audited, and changes nothing.
if (!haveChromium()) console.warn('SKIPPING the SSO name tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let idp: TestIdp;
let gh: GitHubStandIn;
let proxy: string;

const groups: Record<string, string[]> = {
  'sam@corp.example': ['admins'],
  'sam@evil.example': ['contractors'],
  'SAM@another.example': ['contractors'],
  'u-1001': ['contractors'],
};
/** Each login is its own provider account (sub = the login); e-mails are the login unless stated. */
const profiles: Record<string, Record<string, unknown>> = {
  'sam@corp.example': { email: 'sam@corp.example', email_verified: true, preferred_username: undefined },
  'sam@evil.example': { email: 'sam@evil.example', email_verified: true, preferred_username: undefined },
  'SAM@another.example': { email: 'SAM@another.example', email_verified: true, preferred_username: undefined },
  // An account whose provider lets anyone type any e-mail, unverified: the victim's address.
  'u-1001': { email: 'sam@corp.example', email_verified: false, preferred_username: undefined },
};

const home = () => mkdtempSync(join(tmpdir(), 'tp-sso-names-'));
const login = (connector: string, account: string) =>
  ssoCliLogin({
    browser: b.browser,
    proxy,
    connector,
    home: home(),
    signIn: (page, url) => oidcSignIn(page, url, account),
  });
const users = async () =>
  JSON.parse((await f.admin(['users', 'ls', '--format', 'json'])).stdout) as {
    name: string;
    roles: string[];
    sso?: string;
    sso_subject: { issuer: string; subject: string } | null;
  }[];
const sam = async () => (await users()).find((u) => u.name === 'sam');
const refusals = async () => (await auditOf(f.cluster.auth.admin, 'sso.login')).filter((e) => e.success === false);

describe.skipIf(!haveChromium())('security: SSO users are bound to one provider account', () => {
  beforeAll(async () => {
    f = await startSshFixture([]);
    proxy = f.cluster.proxy.addr;
    const port = proxy.split(':')[1];
    await f.role('metadata: {name: corp-admin}\nspec:\n  allow: {rules: [{resources: ["*"], verbs: ["*"]}]}\n');
    await f.role('metadata: {name: contractor}\nspec:\n  allow: {logins: [contractor]}\n');
    idp = await startOidcIdp({
      clientId: 'tp-client',
      clientSecret: 'oidc-client-secret',
      redirectUris: [`https://127.0.0.1:${port}/webapi/sso/callback`],
      groups,
      profiles,
    });
    gh = startGitHubStandIn({
      clientId: 'gh-client',
      clientSecret: 'gh-client-secret',
      users: { gina: { teams: ['acme/admins'], id: 101 } },
    });
    b = await startBrowser(proxy);
    const mapping = 'groups=admins=corp-admin,groups=contractors=contractor';
    for (const [name, extra] of [
      ['corp', ['--username-claim', 'email']],
      ['corp-default', []],
    ] as const) {
      const add = await f.admin(
        [
          'sso',
          'add',
          'oidc',
          '--name',
          name,
          '--issuer',
          idp.issuer,
          '--client-id',
          'tp-client',
          '--client-secret-stdin',
          '--claims-to-roles',
          mapping,
          '--scopes',
          'email,profile,groups',
          ...extra,
        ],
        'oidc-client-secret\n',
      );
      expect(add.stderr).toBe('');
    }
    const addGh = await f.admin(
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
        'acme/admins=corp-admin',
      ],
      'gh-client-secret\n',
    );
    expect(addGh.code).toBe(0);
  });
  afterAll(async () => {
    await b?.close();
    await gh?.close();
    await idp?.close();
    await f?.close();
  });

  test('the victim sam@corp.example becomes "sam" (an admin), bound to its issuer and subject', async () => {
    const { result } = await login('corp', 'sam@corp.example');
    expect(result.stderr).not.toContain('error');
    expect(result.stdout).toContain('as sam');
    expect(await sam()).toMatchObject({
      roles: ['corp-admin'],
      sso: 'corp',
      sso_subject: { issuer: idp.issuer, subject: 'sam@corp.example' },
    });
  });

  test('sam@evil.example (another domain, same local part) is refused and audited; sam keeps his roles', async () => {
    const { result } = await login('corp', 'sam@evil.example');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'the user name "sam" belongs to another account of connector "corp"; this sign-in (subject "sam@evil.example") is refused',
    );
    expect(await sam()).toMatchObject({ roles: ['corp-admin'], sso_subject: { subject: 'sam@corp.example' } });
    expect((await refusals()).some((e) => e.subject === 'sam@evil.example' && e.user === 'sam')).toBe(true);
  });

  test('SAM@another.example (a name that only folds to "sam") is refused; sam keeps his roles', async () => {
    const { result } = await login('corp', 'SAM@another.example');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('the user name "sam" belongs to another account of connector "corp"');
    expect(await sam()).toMatchObject({ roles: ['corp-admin'], sso_subject: { subject: 'sam@corp.example' } });
    expect((await refusals()).some((e) => e.subject === 'SAM@another.example')).toBe(true);
  });

  test('an unverified e-mail never names a user: refused with the username claim "email", else the subject names it', async () => {
    const claimed = await login('corp', 'u-1001');
    expect(claimed.result.code).not.toBe(0);
    expect(claimed.result.stderr).toContain(
      'the provider marks the e-mail "sam@corp.example" as not verified; an unverified e-mail never names a tp user',
    );
    // Without a username claim the default order skips the unverified e-mail and falls back to the subject.
    const fallback = await login('corp-default', 'u-1001');
    expect(fallback.result.stdout).toContain('as u-1001');
    const all = await users();
    expect(all.find((u) => u.name === 'u-1001')).toMatchObject({ roles: ['contractor'], sso: 'corp-default' });
    expect(await sam()).toMatchObject({
      roles: ['corp-admin'],
      sso: 'corp',
      sso_subject: { subject: 'sam@corp.example' },
    });
  });

  test('the victim still logs in as sam afterwards, with his own roles', async () => {
    const { result } = await login('corp', 'sam@corp.example');
    expect(result.stdout).toContain('as sam');
    expect(await sam()).toMatchObject({ roles: ['corp-admin'] });
  });

  test('GitHub: a login name taken over by another account (a new numeric id) is refused', async () => {
    const first = await ssoCliLogin({
      browser: b.browser,
      proxy,
      connector: 'gh',
      home: home(),
      signIn: (page, url) => githubSignIn(page, url, 'gina'),
    });
    expect(first.result.stdout).toContain('as gina');
    // gina renamed her account; someone else registered "gina" (GitHub gives that account a new id).
    gh.setUser('gina', { teams: ['acme/admins'], id: 202 });
    const second = await ssoCliLogin({
      browser: b.browser,
      proxy,
      connector: 'gh',
      home: home(),
      signIn: (page, url) => githubSignIn(page, url, 'gina'),
    });
    expect(second.result.code).not.toBe(0);
    expect(second.result.stderr).toContain('the user name "gina" belongs to another account of connector "gh"');
    expect((await users()).find((u) => u.name === 'gina')?.sso_subject).toEqual({
      issuer: `${gh.url}/api/v3`,
      subject: '101',
    });
  });
});
