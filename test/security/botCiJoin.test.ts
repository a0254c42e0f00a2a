import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addBot, tpWithIdentity } from '../helpers/botFixture.ts';
import { type CiIssuer, githubClaims, type MintFaults, startCiIssuer } from '../helpers/ciIssuer.ts';
import { tp } from '../helpers/cli.ts';
import { auditEvents, me, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Secretless join from CI (issue: machine identity, item 4): a GitHub Actions-shaped issuer on loopback signs ID
// tokens; auth verifies them by discovery + JWKS and the join method's allow rules. Every refusal has its own reason.

let f: SshFixture;
let ci: CiIssuer;
let caPin: string;
let cluster: string;
let home: string;
const REPO = 'acme/app';

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }], { secondFactor: 'off' });
  ci = await startCiIssuer();
  home = mkdtempSync(join(f.dir, 'home-'));
  await f.role(
    'metadata: {name: sshonly}\nspec:\n  allow: {logins: ["{{internal.logins}}"], node_labels: {"*": "*"}}\n',
  );
  caPin = (await addBot(f, 'deploy', ['--roles', 'sshonly', '--logins', me])).caPin;
  const r = await f.admin([
    'tokens',
    'add',
    '--type',
    'bot',
    '--bot',
    'deploy',
    '--join-method',
    'github',
    '--issuer-url',
    ci.issuer,
    '--allow',
    `repository=${REPO},ref=refs/heads/main`,
    '--allow',
    `repository=${REPO},environment=staging`,
    '--format',
    'json',
  ]);
  if (r.code !== 0) throw new Error(`tokens add: ${r.stderr}`);
  const cas = await fetch(`https://${f.cluster.proxy.addr}/webapi/cas`, {
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  cluster = ((await cas.json()) as { cluster: string }).cluster;
});
afterAll(async () => {
  await ci?.close();
  await f?.close();
});

/** `tp bot start --oneshot` joining with join method `token` (`method`: github or oidc) into `out`, with `env`. */
function botStart(method: string, token: string, out: string, env: Record<string, string>) {
  const args = ['bot', 'start', '--join-method', method, '--token', token, '--proxy', f.cluster.proxy.addr];
  return tp([...args, '--ca-pin', caPin, '--out', out, '--oneshot'], { env });
}

/** `tp bot start --oneshot --join-method github` in a job whose runtime hands out a token with `claims`. */
async function join1(claims: Record<string, unknown>, faults?: MintFaults) {
  const out = join(f.dir, `out-${Math.random().toString(36).slice(2)}`);
  const r = await botStart('github', 'deploy-github', out, { TP_HOME: home, ...ci.actionsEnv(claims, faults) });
  return { ...r, out };
}

describe('GitHub Actions join: no secret, the ID token is the proof', () => {
  test('a token from the right repository and branch joins; the identity works for tp ssh', async () => {
    const r = await join1(githubClaims(REPO, 'refs/heads/main'));
    expect(r.stderr).toContain('identity written');
    expect(r.code).toBe(0);
    expect(ci.requests.at(-1)).toBe(cluster); // the audience asked for is the cluster
    const ok = await tpWithIdentity(r.out, home, ['ssh', `${me}@node1`, 'echo', 'ok']);
    expect(ok.stdout.trim()).toBe('ok');
    const joins = await auditEvents(f, 'bot.join');
    const j = joins.find((e) => e.success !== false && e.join_method === 'deploy-github');
    expect(j).toMatchObject({
      user: 'bot-deploy',
      method: 'github',
      rule: 1,
      repository: REPO,
      ref: 'refs/heads/main',
    });
  });

  test('the second rule (OR) admits another environment', async () => {
    const r = await join1(githubClaims(REPO, 'refs/heads/feature', { environment: 'staging' }));
    expect(r.code).toBe(0);
  });

  const refusals: [string, Record<string, unknown>, MintFaults, RegExp][] = [
    ['expired', githubClaims(REPO, 'refs/heads/main'), { expIn: -120 }, /the ID token has expired/],
    ['not yet valid', githubClaims(REPO, 'refs/heads/main'), { nbfIn: 600 }, /not valid yet/],
    ['wrong audience', githubClaims(REPO, 'refs/heads/main'), { audience: 'another-cluster' }, /audience is not/],
    ['wrong issuer', githubClaims(REPO, 'refs/heads/main'), { issuer: 'https://evil.example' }, /was not issued by/],
    ['foreign key', githubClaims(REPO, 'refs/heads/main'), { foreignKey: true }, /signature does not verify/],
    [
      'a ref no rule allows',
      githubClaims(REPO, 'refs/heads/evil'),
      {},
      /matches no allow rule \(rule 1: ref did not match; rule 2: environment did not match\)/,
    ],
  ];
  for (const [what, claims, faults, reason] of refusals)
    test(`refused: ${what}, with its own reason, nothing written, audited`, async () => {
      const before = (await auditEvents(f, 'bot.join')).length;
      const r = await join1(claims, faults);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(reason);
      // The client never sees claim values (the admin's audit does).
      expect(r.stderr).not.toContain('refs/heads/evil');
      expect(existsSync(join(r.out, 'identity'))).toBe(false);
      const events = await auditEvents(f, 'bot.join');
      expect(events.length).toBeGreaterThan(before);
      expect(events.some((e) => e.success === false && reason.test(String(e.error)))).toBe(true);
    });

  test('the refusal of a ref reaches the audit with the claim values', async () => {
    const events = await auditEvents(f, 'bot.join');
    const e = events.find((x) => x.success === false && String(x.error).includes('matches no allow rule'));
    expect(JSON.stringify(e?.rules)).toContain('refs/heads/evil');
  });

  test('outside a job with id-token permission: a clear error, no request made', async () => {
    const out = join(f.dir, 'out-nojob');
    const r = await botStart('github', 'deploy-github', out, {
      TP_HOME: home,
      ACTIONS_ID_TOKEN_REQUEST_URL: '',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('id-token: write');
  });

  test('tp tokens test names the failing claim and its value for the admin', async () => {
    const jwt = join(f.dir, 'evil.jwt');
    writeFileSync(jwt, await ci.mint(githubClaims(REPO, 'refs/heads/evil'), cluster));
    const r = await f.admin(['tokens', 'test', 'deploy-github', '--jwt', jwt]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('token: valid');
    expect(r.stdout).toContain('rule 1: ref is "refs/heads/evil", want "refs/heads/main"');
    expect(r.stdout).toContain('result: refused');
    writeFileSync(jwt, await ci.mint(githubClaims(REPO, 'refs/heads/main'), cluster, { expIn: -120 }));
    const expired = await f.admin(['tokens', 'test', 'deploy-github', '--jwt', jwt, '--format', 'json']);
    expect(JSON.parse(expired.stdout)).toMatchObject({ token_ok: false, failed_check: 'expired', passed_rule: null });
  });

  test('a static JWKS serves an auth server that cannot reach the issuer (OIDC method)', async () => {
    const jwks = join(f.dir, 'jwks.json');
    writeFileSync(jwks, ci.jwks);
    const add = await f.admin([
      'tokens',
      'add',
      '--type',
      'bot',
      '--bot',
      'deploy',
      '--join-method',
      'oidc',
      '--name',
      'deploy-gitlab',
      '--issuer-url',
      'https://gitlab.example.com',
      '--jwks-file',
      jwks,
      '--allow',
      'sub=project_path:acme/app:ref_type:branch:ref:main',
    ]);
    expect(add.code).toBe(0);
    const idToken = await ci.mint({ sub: 'project_path:acme/app:ref_type:branch:ref:main' }, cluster, {
      issuer: 'https://gitlab.example.com',
    });
    const out = join(f.dir, 'out-gitlab');
    const r = await botStart('oidc', 'deploy-gitlab', out, { TP_HOME: home, TP_ID_TOKEN: idToken });
    expect(r.stderr).toContain('identity written');
    const ls = await f.admin(['tokens', 'ls', '--format', 'json']);
    const rows = JSON.parse(ls.stdout) as { id: string; join_method: string | null; expires: string | null }[];
    expect(rows.find((t) => t.id === 'deploy-gitlab')).toMatchObject({ join_method: 'oidc', expires: null });
  });

  test('join methods are admin-only: a bot identity cannot add one', async () => {
    const r = await join1(githubClaims(REPO, 'refs/heads/main'));
    const denied = await tpWithIdentity(r.out, home, ['tokens', 'ls']);
    expect(denied.code).not.toBe(0);
  });
});
