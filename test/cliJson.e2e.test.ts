import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { OUTPUTS, type Output, type OutputKind } from '../cmd/lib/outputSchemas.ts';
import { startCiIssuer } from './helpers/ciIssuer.ts';
import { type CliResult, tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type GitHubStandIn, startGitHubStandIn } from './helpers/githubStandIn.ts';
import { type OidcStandIn, startOidcStandIn } from './helpers/oidcStandIn.ts';
import { type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// The JSON contract scripts rely on (README, "Output and exit codes"): every command that prints a result is run
// for real with --format json and its output checked against the schema the command itself prints through
// (cmd/lib/outputSchemas.ts); --format yaml parses to the same object; created things print as their listing shows
// them. The last test checks that every command offering json was run here.

let f: SshFixture;
let alice: FixtureUser;
let gh: GitHubStandIn;
let idp: OidcStandIn;
const ran = new Set<OutputKind>();
type Run = (args: string[], stdin?: string) => Promise<CliResult>;

beforeAll(async () => {
  // n1 also serves a web app (nothing listens behind it: the app commands here only talk to the cluster).
  f = await startSshFixture([{ name: 'n1', pluginFlags: { app: ['grafana=http://127.0.0.1:9'] } }]);
  alice = await f.user('alice', ['ops']);
  gh = startGitHubStandIn({ clientId: 'gh-client', clientSecret: 'gh-secret', users: {} });
  idp = await startOidcStandIn({ clientId: 'oidc-client', clientSecret: 'oidc-secret', subject: 'sub-1' });
});
afterAll(async () => {
  await idp?.close();
  await gh?.close();
  await f?.close();
});

const admin: Run = (args, stdin) => f.admin(args, stdin);
const asAlice: Run = (args, stdin) => alice.tp(args, { stdin });
const anyone: Run = (args, stdin) => tp(args, { stdin });

/** Runs the command with --format FORMAT and returns what it printed, after checking it against its schema. */
async function output<K extends OutputKind>(
  kind: K,
  format: 'json' | 'yaml',
  run: Run,
  args: string[],
  stdin?: string,
): Promise<Output<K>> {
  const r = await run([...args, '--format', format], stdin);
  expect({ kind, format, code: r.code, stderr: r.stderr }).toMatchObject({ kind, format, code: 0 });
  const data: unknown = format === 'json' ? JSON.parse(r.stdout) : parseYaml(r.stdout);
  const checked = v.safeParse(OUTPUTS[kind], data);
  const issues = checked.issues?.map((i) => `${v.getDotPath(i) ?? '(top)'}: ${i.message}`);
  expect({ kind, format, issues }).toEqual({ kind, format, issues: undefined });
  ran.add(kind);
  return data as Output<K>;
}

/**
 * A read-only command: its JSON matches the schema and its YAML is the same object, but for `live` keys that change
 * between two runs on their own (a node's heartbeat time).
 */
async function both<K extends OutputKind>(kind: K, run: Run, args: string[], live: string[] = []): Promise<Output<K>> {
  const json = await output(kind, 'json', run, args);
  const yaml = await output(kind, 'yaml', run, args);
  const steady = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(steady)
      : Object.fromEntries(Object.entries(x as object).filter(([k]) => !live.includes(k)));
  expect(steady(yaml)).toEqual(steady(json));
  return json;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('--format json|yaml of every command that prints a result', () => {
  test("a user's commands: version, status, login, ls, bench ssh", async () => {
    await both('version', anyone, ['version']);
    const status = await both('status', asAlice, ['status']);
    expect(status).toMatchObject({ user: 'alice', valid: true, expires: expect.stringMatching(ISO) });
    for (const format of ['json', 'yaml'] as const) {
      const home = mkdtempSync(join(f.dir, 'home-json-'));
      const inHome: Run = (args, stdin) => tp(args, { env: { TP_HOME: home }, stdin });
      const login = ['login', '--proxy', f.cluster.proxy.addr, '--user', 'alice', '--password-stdin', '--insecure'];
      const { ssh_agent, ...profile } = await output('login', format, inHome, login, PASSWORD);
      expect(ssh_agent).toBeNull(); // no SSH_AUTH_SOCK in the test's environment
      expect(profile).toEqual(await output('status', 'json', inHome, ['status']));
    }
    // No agent serves a database here: the listing is empty, and still a list as documented (test/dbCli.e2e.test.ts
    // checks a populated one).
    expect(await both('db ls', asAlice, ['db', 'ls'])).toEqual([]);
    // Nor a Kubernetes cluster (test/kubeCli.e2e.test.ts checks a populated listing).
    expect(await both('kube ls', asAlice, ['kube', 'ls'])).toEqual([]);
    const [n1] = await both('ls', asAlice, ['ls'], ['last_seen']);
    expect(n1).toMatchObject({ name: 'n1', online: true, agentless: false, last_seen: expect.stringMatching(ISO) });
    const bench = ['bench', 'ssh', '--rate', '4', '--duration', '500ms', 'n1', 'true'];
    const b = await output('bench ssh', 'json', asAlice, bench);
    expect(b).toMatchObject({ ok: b.started, errors: 0, first_error: null, duration_ms: 500 });
    expect(b.p99_ms).toBeGreaterThanOrEqual(b.p50_ms);
    expect(Object.keys(await output('bench ssh', 'yaml', asAlice, bench))).toEqual(Object.keys(b));
  });

  test("a user's web app commands: apps ls, apps login, apps config", async () => {
    const viewer = await f.user('appviewer', ['access']);
    const asViewer: Run = (args, stdin) => viewer.tp(args, { stdin });
    await waitFor('grafana listed', async () => (await asViewer(['apps', 'ls'])).stdout.includes('grafana'), 15_000);
    const [listed] = await both('apps ls', asViewer, ['apps', 'ls']);
    expect(listed).toMatchObject({ name: 'grafana', online: true });
    const login = await output('apps login', 'json', asViewer, ['apps', 'login', 'grafana']);
    expect(login).toMatchObject({
      app: 'grafana',
      public_addr: listed!.public_addr,
      expires: expect.stringMatching(ISO),
    });
    expect(await output('apps login', 'yaml', asViewer, ['apps', 'login', 'grafana'])).toMatchObject({
      app: 'grafana',
    });
    const config = await both('apps config', asViewer, ['apps', 'config', 'grafana']);
    expect(config).toMatchObject({ app: 'grafana', cert: login.cert, key: login.key, ca: login.ca, uri: login.uri });
  });

  test('what admin commands create prints as their listings show it', async () => {
    const carol = await output('users add', 'json', admin, ['users', 'add', 'carol', '--roles', 'access']);
    expect(carol).toMatchObject({ signup_url: expect.stringContaining('https://'), totp_uri: null });
    const dave = await output(
      'users add',
      'yaml',
      admin,
      ['users', 'add', 'dave', '--roles', 'access', '--password-stdin'],
      PASSWORD,
    );
    expect(dave).toMatchObject({ signup_url: null, user: { has_password: true, locked_until: null, sso: null } });
    const users = await both('users ls', admin, ['users', 'ls']);
    expect(users.find((u) => u.name === 'carol')).toEqual(carol.user);
    expect(users.find((u) => u.name === 'dave')).toEqual(dave.user);
    for (const format of ['json', 'yaml'] as const)
      expect(await output('users reset', format, admin, ['users', 'reset', 'carol'])).toMatchObject({ user: 'carol' });
    const updated = await both('users update', admin, ['users', 'update', 'carol', '--db-users', 'carol,reader']);
    expect(updated).toEqual({ ...carol.user, traits: { ...carol.user.traits, db_users: ['carol', 'reader'] } });

    const tokens = [
      await output('tokens add', 'json', admin, ['tokens', 'add', '--type', 'node']),
      await output('tokens add', 'yaml', admin, ['tokens', 'add', '--type', 'proxy', '--multi']),
    ];
    const listedTokens = await both('tokens ls', admin, ['tokens', 'ls']);
    for (const { token, ca_pin, ...record } of tokens) {
      expect(ca_pin).toStartWith('sha256:');
      expect(listedTokens.find((t) => t.id === record.id)).toEqual(record);
    }

    const bots = [
      await output('bots add', 'json', admin, ['bots', 'add', 'deploy', '--roles', 'access', '--logins', 'deploy']),
      await output('bots add', 'yaml', admin, ['bots', 'add', 'ci', '--roles', 'access']),
    ];
    const listedBots = await both('bots ls', admin, ['bots', 'ls']);
    for (const { bot, token_expires, ca_pin } of bots) {
      expect(listedBots.find((x) => x.name === bot.name)).toEqual(bot);
      expect([token_expires, ca_pin]).toEqual([expect.stringMatching(ISO), tokens[0]!.ca_pin]);
    }
    for (const format of ['json', 'yaml'] as const)
      expect(await output('bots token', format, admin, ['bots', 'token', 'deploy'])).toMatchObject({
        ca_pin: tokens[0]!.ca_pin,
      });
    const botTokens = (await output('tokens ls', 'json', admin, ['tokens', 'ls'])).filter((t) => t.bot !== null);
    expect(botTokens.map((t) => [t.bot, t.roles])).toContainEqual([bots[0]!.bot.user, ['bot']]);
    const botTypeToken = await output('tokens add', 'json', admin, ['tokens', 'add', '--type', 'bot', '--bot', 'ci']);
    expect(botTypeToken).toMatchObject({ roles: ['bot'], bot: 'bot-ci', join_method: null, uses: 'single' });
    const ci = await startCiIssuer();
    try {
      const jwks = join(f.dir, 'ci-jwks.json');
      writeFileSync(jwks, ci.jwks);
      const method = await output('tokens add', 'yaml', admin, [
        'tokens',
        'add',
        '--type',
        'bot',
        '--bot',
        'ci',
        '--join-method',
        'github',
        '--issuer-url',
        ci.issuer,
        '--jwks-file',
        jwks,
        '--audience',
        'tp-json',
        '--allow',
        'repository=acme/app',
      ]);
      expect(method).toMatchObject({ token: 'ci-github', id: 'ci-github', join_method: 'github', expires: null });
      const listed = await output('tokens ls', 'json', admin, ['tokens', 'ls']);
      expect(listed.find((t) => t.id === 'ci-github')).toEqual((({ token, ca_pin, ...r }) => r)(method));
      const jwt = join(f.dir, 'ci.jwt');
      writeFileSync(
        jwt,
        await ci.mint({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app' }, 'tp-json'),
      );
      for (const format of ['json', 'yaml'] as const)
        expect(await output('tokens test', format, admin, ['tokens', 'test', 'ci-github', '--jwt', jwt])).toEqual({
          token_ok: true,
          failed_check: null,
          error: null,
          claims: expect.objectContaining({ repository: 'acme/app' }),
          rules: [{ rule: 1, passed: true, mismatched: [] }],
          passed_rule: 1,
        });
    } finally {
      await ci.close();
    }

    const botLocks = [
      await output('bots lock', 'json', admin, ['bots', 'lock', 'deploy']),
      await output('bots lock', 'yaml', admin, ['bots', 'lock', 'ci', '--message', 'retired']),
    ];

    const locks = [
      await output('locks add', 'json', admin, ['locks', 'add', '--user', 'carol', '--message', 'left']),
      await output('locks add', 'yaml', admin, ['locks', 'add', '--user', 'dave', '--ttl', '1h']),
    ];
    // A lock until removed has no expiry: null, never 0.
    expect(locks.map((l) => [l.target, l.expires === null])).toEqual([
      [{ user: 'carol', node: null, resource: null }, true],
      [{ user: 'dave', node: null, resource: null }, false],
    ]);
    const listedLocks = await both('locks ls', admin, ['locks', 'ls']);
    for (const l of locks) expect(listedLocks.find((x) => x.id === l.id)).toEqual(l);
    for (const { lock_id } of botLocks) expect(listedLocks.map((l) => l.id)).toContain(lock_id);

    const agentless = [
      await output('nodes add', 'json', admin, [
        'nodes',
        'add',
        '--name',
        'al1',
        '--addr',
        '127.0.0.1:1',
        '--agentless',
      ]),
      await output('nodes add', 'yaml', admin, [
        'nodes',
        'add',
        '--name',
        'al2',
        '--addr',
        '127.0.0.1:2',
        '--agentless',
      ]),
    ];
    const nodes = await both('nodes ls', admin, ['nodes', 'ls'], ['last_seen']);
    for (const n of agentless) expect(nodes.find((x) => x.host_id === n.host_id)).toEqual(n);
    expect(nodes.find((n) => n.name === 'n1')).toMatchObject({ addr: null, agentless: false, tunnel: true });

    expect((await both('roles ls', admin, ['roles', 'ls'])).map((r) => r.metadata.name)).toContain('ops');
    expect((await both('roles get', admin, ['roles', 'get', 'ops'])).spec.options.max_session_ttl).toBe('8h');
  });

  test('sso connectors and ca sign', async () => {
    const secret = 'client-secret\n';
    const github = ['sso', 'add', 'github', '--name', 'gh', '--client-id', 'gh-client', '--client-secret-stdin'];
    const oidc = ['sso', 'add', 'oidc', '--name', 'idp', '--client-id', 'oidc-client', '--client-secret-stdin'];
    const added = [
      await output(
        'sso add github',
        'json',
        admin,
        [...github, '--endpoint-url', gh.url, '--teams-to-roles', 'acme/devs=access'],
        secret,
      ),
      await output(
        'sso add oidc',
        'yaml',
        admin,
        [...oidc, '--issuer', idp.issuer, '--claims-to-roles', 'groups=devs=access'],
        secret,
      ),
    ];
    expect(added[1]).toMatchObject({ kind: 'oidc', username_claim: null, has_secret: true });
    const listed = await both('sso ls', admin, ['sso', 'ls']);
    expect(listed).toEqual(added);
    expect(JSON.stringify(listed)).not.toContain('client-secret');
    for (const name of ['gh', 'idp'])
      expect(await both('sso test', admin, ['sso', 'test', name, '--provider-only'])).toMatchObject({
        user: null,
        roles: null,
      });

    const sign = async (format: 'json' | 'yaml', who: string[]) =>
      output('ca sign', format, admin, ['ca', 'sign', ...who, '--out', mkdtempSync(join(f.dir, 'sign-'))]);
    for (const who of [
      ['--user', 'alice'],
      ['--host', 'h1.example.com'],
    ]) {
      const json = await sign('json', who);
      const yaml = await sign('yaml', who);
      // Each run makes new keys (and a host a new host ID): the same shape, for the same subject.
      expect(Object.keys(yaml)).toEqual(Object.keys(json));
      expect(json.kind === 'user' ? json.user : json.host).toBe(who[1]!);
      expect(yaml.kind === 'user' ? yaml.user : yaml.host).toBe(who[1]!);
      expect(json.expires).toMatch(ISO);
    }
  });

  test('recordings, play and audit search name a session the same way (session_id, server_id)', async () => {
    const marker = `json-contract-${Date.now()}`;
    expect((await alice.tp(['ssh', 'n1', `echo ${marker}`])).code).toBe(0);
    await waitFor('the recording', async () => {
      const r = await admin(['recordings', 'ls', '--format', 'json']);
      return (JSON.parse(r.stdout) as { command: string; status: string }[]).some(
        (x) => x.command === `echo ${marker}` && x.status === 'complete',
      );
    });
    const rec = (await both('recordings ls', admin, ['recordings', 'ls'])).find((x) => x.command === `echo ${marker}`)!;
    expect(rec).toMatchObject({ server_name: 'n1', ended_at: expect.stringMatching(ISO) });
    expect(await both('recordings search', admin, ['recordings', 'search', marker])).toEqual([rec]);
    const played = await both('play', admin, ['play', rec.session_id]);
    expect(played.recording).toEqual(rec);
    expect(played.events.map((e) => e[2]).join('')).toContain(marker);

    const until = new Date().toISOString();
    await both('audit search', admin, ['audit', 'search', '--type', 'user.create', '--until', until]);
    const events = await output('audit search', 'json', admin, ['audit', 'search', '--limit', '1000']);
    expect(events.find((e) => e.type === 'session.start' && e.session_id === rec.session_id)).toMatchObject({
      server_id: rec.server_id,
      server_name: 'n1',
    });
  });

  test('rotate: no rotation yet is null (never 0); each step prints the state rotate status then shows', async () => {
    const before = await both('rotate status', admin, ['rotate', 'status']);
    expect(before).toMatchObject({
      state: { id: null, phase: 'standby', started_at: null, phase_since: null, stalled: null, last: null },
      waiting_for: null,
    });
    const state = async () => (await output('rotate status', 'json', admin, ['rotate', 'status'])).state;
    for (const format of ['json', 'yaml'] as const) {
      const started = await output('rotate start', format, admin, ['rotate', 'start', '--type', 'user', '--manual']);
      expect(started).toMatchObject({ phase: 'init', mode: 'manual', started_at: expect.stringMatching(ISO) });
      expect(await state()).toEqual(started);
      const back = await output('rotate rollback', format, admin, ['rotate', 'rollback']);
      expect(back).toMatchObject({ id: started.id, phase: 'rollback' });
      expect(await state()).toEqual(back);
      // `tp rotate phase` refuses while servers are behind: let them take on the rollback first.
      await waitFor('every server in rollback', async () =>
        (await output('rotate status', 'json', admin, ['rotate', 'status'])).servers.every((x) => x.caught_up),
      );
      const done = await output('rotate phase', format, admin, ['rotate', 'phase', 'standby']);
      expect(done).toMatchObject({ phase: 'standby', last: { id: started.id, result: 'rolled_back' } });
      expect(await state()).toEqual(done);
    }
  });

  test('every command offering --format json was run above, and every schema belongs to one', async () => {
    const offering: string[] = [];
    const walk = async (path: string[]) => {
      const h = await tp([...path, '--help']);
      const section = /\nCommands:\n((?: {2}\S.*\n)+)/.exec(h.stdout)?.[1];
      if (!section) {
        if (/^\s+--format \S+\s+.*\bjson\b/m.test(h.stdout)) offering.push(path.join(' '));
        return;
      }
      for (const line of section.trimEnd().split('\n')) {
        const name = line.trim().split(/\s+/)[0]!;
        if (name !== 'help') await walk([...path, name]);
      }
    };
    await walk([]);
    const kinds: string[] = Object.keys(OUTPUTS).sort();
    expect(offering.sort()).toEqual(kinds);
    const covered: string[] = [...ran].sort();
    expect(covered).toEqual(kinds);
  });
});
