// tp apps end to end: `tp start` whose node serves two web apps, users logged in with `tp login`, and the real CLI:
// listing, app certificates written 0600 with the curl line that uses them, scripts' config, logout.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { appRouteFromCert } from '../core/auth/appCert.ts';
import { type AppsCliCluster, startAppsCliCluster } from './helpers/appsCliCluster.ts';
import { run, tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { startTpDaemon } from './helpers/tpDaemon.ts';

let dir: string;
let c: AppsCliCluster;
const asAlice = (args: string[]) => tp(args, { env: c.home.alice });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-appscli-'));
  c = await startAppsCliCluster(dir);
  await waitFor('grafana listed', async () => (await asAlice(['apps', 'ls'])).stdout.includes('grafana'), 20_000);
}, 120_000);
afterAll(async () => {
  await c?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tp apps', () => {
  test('ls shows only the apps the roles reach, with the address each is served on', async () => {
    const text = await asAlice(['apps', 'ls']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NAME\s+URL\s+LABELS\s+STATUS\n/);
    expect(text.stdout).toMatch(
      new RegExp(`\\ngrafana\\s+https://grafana\\.tp\\.localhost:${c.port}/\\s+env=dev\\s+online\\n`),
    );
    expect(text.stdout).not.toContain('billing');
    const json = JSON.parse((await asAlice(['apps', 'ls', '--format', 'json'])).stdout) as Output<'apps ls'>;
    expect(json).toEqual([
      {
        name: 'grafana',
        public_addr: `grafana.tp.localhost:${c.port}`,
        url: `https://grafana.tp.localhost:${c.port}/`,
        labels: { env: 'dev' },
        online: true,
      },
    ]);
    expect(JSON.parse((await asAlice(['apps', 'ls', 'env=prod', '--format', 'json'])).stdout)).toEqual([]);
  });

  test('login writes the app certificate and key 0600 and prints the curl line that uses them', async () => {
    const r = await asAlice(['apps', 'login', 'grafana']);
    expect(r.code).toBe(0);
    const files = join(c.home.alice.TP_HOME!, 'keys', `127.0.0.1_${c.port}`, 'app', 'grafana');
    const [cert, key, ca] = ['tls.crt', 'tls.key', 'ca.crt'].map((f) => join(files, f));
    expect(r.stdout).toContain(`Logged in to app grafana (https://grafana.tp.localhost:${c.port}/)`);
    expect(r.stdout).toContain(
      `curl --cert ${cert} --key ${key} --cacert ${ca} https://grafana.tp.localhost:${c.port}/`,
    );
    for (const f of [cert!, key!, ca!]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const x = new X509Certificate(await Bun.file(cert!).text());
    expect(appRouteFromCert(x.raw)).toEqual({ app: 'grafana', publicAddr: `grafana.tp.localhost:${c.port}` });
    // Never past the tp login certificate.
    const status = JSON.parse((await asAlice(['status', '--format', 'json'])).stdout) as { expires: string };
    expect(Date.parse(x.validTo)).toBeLessThanOrEqual(Date.parse(status.expires));
    const config = JSON.parse((await asAlice(['apps', 'config', 'grafana', '--format', 'json'])).stdout);
    expect(config).toMatchObject({ app: 'grafana', uri: `https://grafana.tp.localhost:${c.port}/`, cert, key, ca });
    for (const [format, want] of [
      ['uri', `https://grafana.tp.localhost:${c.port}/`],
      ['cert', cert],
      ['key', key],
      ['ca', ca],
    ] as const)
      expect((await asAlice(['apps', 'config', 'grafana', '--format', format])).stdout).toBe(`${want}\n`);
    expect((await asAlice(['apps', 'config', 'grafana', '--format', 'curl'])).stdout).toStartWith('curl --cert ');
  });

  test('an app the roles do not reach is not found at login (exit 3), and nothing is written', async () => {
    const r = await tp(['apps', 'login', 'grafana'], { env: c.home.erin });
    expect(r.code).toBe(3); // erin's roles do not even show it
    expect(r.stderr).toContain('no app "grafana" you may reach');
    const billing = await asAlice(['apps', 'login', 'billing']);
    expect(billing.code).toBe(3);
    expect(existsSync(join(c.home.erin.TP_HOME!, 'keys', `127.0.0.1_${c.port}`, 'app'))).toBe(false);
  });

  test('config before login, and an unknown --format, say what to do', async () => {
    const none = await tp(['apps', 'config', 'grafana'], { env: c.home.erin });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('run `tp apps login grafana`');
    const bad = await asAlice(['apps', 'config', 'grafana', '--format', 'xml']);
    expect(bad.code).toBe(2);
  });

  test('logout removes one app certificate, or every one when no app is named', async () => {
    await asAlice(['apps', 'login', 'grafana']);
    const out = await asAlice(['apps', 'logout', 'grafana']);
    expect(out.stdout).toBe('Logged out of app grafana\n');
    expect((await asAlice(['apps', 'config', 'grafana'])).code).toBe(3);
    expect((await asAlice(['apps', 'logout', 'grafana'])).code).toBe(3);
    await asAlice(['apps', 'login', 'grafana']);
    expect((await asAlice(['apps', 'logout'])).stdout).toBe('Logged out of app grafana\n');
  });
});

describe('an app certificate with stock curl, and tp proxy app', () => {
  /** curl with the files `tp apps login` wrote, to `host` on the proxy's port (resolved to loopback). */
  const curlAs = async (host: string, path: string) => {
    const cfg = JSON.parse(
      (await asAlice(['apps', 'config', 'grafana', '--format', 'json'])).stdout,
    ) as Output<'apps config'>;
    return run([
      'curl',
      '-sS',
      '--max-time',
      '20',
      '-w',
      '\n%{http_code}',
      '--cert',
      cfg.cert,
      '--key',
      cfg.key,
      '--cacert',
      cfg.ca,
      '--resolve',
      `${host}:${c.port}:127.0.0.1`,
      `https://${host}:${c.port}${path}`,
    ]);
  };

  test('curl --cert --key --cacert --resolve reaches the app as the user, through the proxy’s own CA', async () => {
    expect((await asAlice(['apps', 'login', 'grafana'])).code).toBe(0);
    const r = await curlAs('grafana.tp.localhost', '/hello?x=1');
    expect(r.stderr).toBe('');
    const [body, status] = r.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body!)).toMatchObject({ path: '/hello', assertion: true, user: 'alice' });
  });

  test('the same certificate is refused by another app, which never sees the request', async () => {
    await asAlice(['apps', 'login', 'grafana']);
    const r = await curlAs('billing.tp.localhost', '/refused-probe');
    const lines = r.stdout.split('\n');
    expect(lines.at(-1)).toBe('403');
    expect(r.stdout).toContain('this certificate is for app "grafana"');
    expect(c.seen).not.toContain('/refused-probe');
  });

  test("a certificate issued before a role change is refused with curl once the role denies the app's labels, audited", async () => {
    const role = (deny: string) =>
      `kind: role\nmetadata: {name: appdev2}\nspec:\n  allow: {app_labels: {env: dev}}\n  deny: {app_labels: {${deny}}}\n`;
    await c.admin(['roles', 'create', '-f', '-'], role('team: none'));
    await c.admin(['users', 'add', 'frank', '--roles', 'appdev2', '--password-stdin'], 'correct horse battery staple');
    const env = { TP_HOME: join(dir, 'home-frank') };
    const login = ['login', '--proxy', c.proxy, '--user', 'frank', '--password-stdin', '--insecure'];
    expect((await tp(login, { env, stdin: 'correct horse battery staple' })).code).toBe(0);
    expect((await tp(['apps', 'login', 'grafana'], { env })).code).toBe(0);
    const cfg = JSON.parse(
      (await tp(['apps', 'config', 'grafana', '--format', 'json'], { env })).stdout,
    ) as Output<'apps config'>;
    const curl = () =>
      run([
        'curl',
        '-sS',
        '--max-time',
        '20',
        '-w',
        '\n%{http_code}',
        '--cert',
        cfg.cert,
        '--key',
        cfg.key,
        '--cacert',
        cfg.ca,
        '--resolve',
        `grafana.tp.localhost:${c.port}:127.0.0.1`,
        `https://grafana.tp.localhost:${c.port}/after-role-change`,
      ]);
    expect((await curl()).stdout.split('\n').at(-1)).toBe('200');
    const seenBefore = c.seen.filter((p) => p === '/after-role-change').length;
    await c.admin(['roles', 'create', '-f', '-', '--force'], role('env: dev'));
    await waitFor('the denial at the proxy', async () => (await curl()).stdout.split('\n').at(-1) === '403', 15_000);
    expect(c.seen.filter((p) => p === '/after-role-change').length).toBe(seenBefore);
    const audit = await c.admin(['audit', 'search', '--type', 'auth.attempt', '--user', 'frank', '--format', 'json']);
    expect(
      (JSON.parse(audit) as { kind?: string; error?: string }[]).some(
        (e) => e.kind === 'app' && String(e.error).includes('access to app "grafana" is not allowed'),
      ),
    ).toBe(true);
  });

  test('tp proxy app serves the app on loopback to a client without a certificate', async () => {
    const marker = /on (http:\/\/127\.0\.0\.1:\d+)\//;
    const proxy = await startTpDaemon(['proxy', 'app', 'grafana'], marker, { env: c.home.alice });
    try {
      const local = marker.exec(proxy.banner)![1]!;
      const hello = await fetch(`${local}/hello`);
      expect(hello.status).toBe(200);
      // The app sees its own public host, not the loopback listener's.
      expect(await hello.json()).toMatchObject({ path: '/hello', host: `127.0.0.1:${c.upstream.port}`, user: 'alice' });
      // A redirect to the app's address comes back pointing at the listener.
      const moved = await fetch(`${local}/moved`, { redirect: 'manual' });
      expect(moved.status).toBe(302);
      expect(moved.headers.get('location')).toBe(`${local}/hello`);
      // Keep-alive: two requests on one connection, and a body streamed up.
      const posted = await fetch(`${local}/upload`, { method: 'POST', body: 'x'.repeat(100_000) });
      expect(await posted.json()).toMatchObject({ method: 'POST', body: 100_000 });
    } finally {
      await proxy.stop();
    }
  });
});
