// tp bot start --app (issue 22): a bot's output directory gains DIR/app/NAME/{tls.crt,tls.key,ca.crt}, an app
// certificate for one web app, asked again at every renewal so it never outlives the bot's identity.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRouteFromCert } from '../core/auth/appCert.ts';
import { readIdentityFile } from '../core/client/identityFile.ts';
import { type AppsCliCluster, startAppsCliCluster } from './helpers/appsCliCluster.ts';
import { spawnBot } from './helpers/botFixture.ts';
import { run, tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';

let dir: string;
let c: AppsCliCluster;
const newToken = async () => JSON.parse(await c.admin(['bots', 'token', 'ci', '--format', 'json'])) as Token;
type Token = { token: string; ca_pin: string };
const startArgs = (out: string, t: Token, extra: string[]) =>
  ['bot', 'start', '--proxy', c.proxy, '--token', t.token, '--ca-pin', t.ca_pin, '--out', out].concat(extra);
const certOf = (out: string) => new X509Certificate(readFileSync(join(out, 'app', 'grafana', 'tls.crt')));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-botapp-'));
  c = await startAppsCliCluster(dir);
  await c.admin(['bots', 'add', 'ci', '--roles', 'appdev', '--ttl', '1h', '--format', 'json']);
}, 120_000);
afterAll(async () => {
  await c?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tp bot start --app', () => {
  test('--oneshot writes DIR/app/grafana/ (0700, files 0600): a certificate for grafana, ending with the identity', async () => {
    const out = join(dir, 'out');
    const r = await tp(startArgs(out, await newToken(), ['--oneshot', '--app', 'grafana']), {
      env: { TP_HOME: join(dir, 'bot-home') },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`app grafana: certificate in ${join(out, 'app', 'grafana')}/`);
    const app = join(out, 'app', 'grafana');
    expect(readdirSync(app).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(statSync(join(out, 'app')).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(app)) expect(statSync(join(app, f)).mode & 0o777).toBe(0o600);
    const cert = certOf(out);
    expect(appRouteFromCert(cert.raw)).toEqual({ app: 'grafana', publicAddr: `grafana.tp.localhost:${c.port}` });
    expect(cert.subject).toContain('CN=bot-ci');
    const identity = new X509Certificate(readIdentityFile(join(out, 'identity')).tlsCert);
    expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(Date.parse(identity.validTo));
    // A CI step reaches the app with stock curl and the three files, as the bot.
    const host = `grafana.tp.localhost:${c.port}`;
    const curl = await run([
      'curl',
      '-sS',
      '--max-time',
      '20',
      '--cert',
      join(app, 'tls.crt'),
      '--key',
      join(app, 'tls.key'),
      '--cacert',
      join(app, 'ca.crt'),
      '--resolve',
      `${host}:127.0.0.1`,
      `https://${host}/hello`,
    ]);
    expect(curl.stderr).toBe('');
    expect(JSON.parse(curl.stdout)).toMatchObject({ path: '/hello', user: 'bot-ci' });
  }, 60_000);

  test('a running bot renews the app certificate with its identity', async () => {
    const out = join(dir, 'renewing');
    const bot = spawnBot(startArgs(out, await newToken(), ['--app', 'grafana', '--ttl', '10s', '--renew-every', '2s']));
    try {
      await bot.waitFor(/app grafana: certificate in/);
      const first = certOf(out).serialNumber;
      const identityBefore = readFileSync(join(out, 'identity'), 'utf8');
      await waitFor('a new app certificate', () => certOf(out).serialNumber !== first, 20_000);
      expect(readFileSync(join(out, 'identity'), 'utf8')).not.toBe(identityBefore);
      const identity = new X509Certificate(readIdentityFile(join(out, 'identity')).tlsCert);
      expect(Date.parse(certOf(out).validTo)).toBeLessThanOrEqual(Date.parse(identity.validTo));
    } finally {
      await bot.stop();
    }
  }, 60_000);

  test('an app the bot’s roles do not reach fails the start, naming those they do', async () => {
    const r = await tp(startArgs(join(dir, 'out2'), await newToken(), ['--oneshot', '--app', 'billing']), {
      env: { TP_HOME: join(dir, 'bot-home') },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no app "billing" you may reach; your roles let you reach: grafana');
  }, 60_000);
});
