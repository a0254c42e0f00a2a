import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppHarness, startAppHarness } from '../../test/helpers/appAgentHarness.ts';
import { run } from '../../test/helpers/cli.ts';

let h: AppHarness;
let refusal: string | undefined;
beforeAll(async () => {
  h = await startAppHarness({ refuse: () => refusal });
});
afterAll(() => h?.close());

const curl = (args: string[]) => run(['curl', '-sS', '--max-time', '10', ...args]);
const url = (p: string) => `http://127.0.0.1:${h.port}${p}`;

describe('app-http agent: real curl through serve()', () => {
  test('a GET reaches the app with a token that verifies against the JWKS, carrying the user, roles and traits', async () => {
    const r = await curl([url('/echo?secret=s3')]);
    expect(r.stderr).toBe('');
    const seen = JSON.parse(r.stdout);
    expect(seen.tokenError).toBeUndefined();
    expect(seen.claims).toMatchObject({
      sub: 'alice',
      username: 'alice',
      roles: ['access'],
      traits: { logins: ['alice', 'ops'] },
    });
    expect(seen.headers).toMatchObject({
      host: `127.0.0.1:${h.upstreamPort}`,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'grafana.tp.example.com',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-login': 'alice, ops',
      'x-app-login': 'alice, ops',
    });
    const req = h.events.findLast((e) => e.type === 'app.request');
    expect(req).toMatchObject({ method: 'GET', path: '/echo', status: 200, user: 'alice', app_name: 'grafana' });
    expect(JSON.stringify(req)).not.toContain('s3');
  });

  test('header bytes outside ASCII reach the app as the client sent them, as they do without tp', async () => {
    const header = ['-H', 'X-Name: caf\u00e9 \u2713'];
    const direct = JSON.parse((await curl([...header, `http://127.0.0.1:${h.upstreamPort}/echo`])).stdout);
    const through = JSON.parse((await curl([...header, url('/echo')])).stdout);
    expect(through.headers['x-name']).toBe(direct.headers['x-name']);
  });

  test('keep-alive: two requests on one connection, each audited; POST bodies (sized and chunked) arrive whole', async () => {
    const before = h.events.length;
    const file = join(mkdtempSync(join(tmpdir(), 'tp-app-')), 'body');
    writeFileSync(file, 'x'.repeat(200_000));
    const r = await curl([
      url('/echo'),
      '--next',
      '-X',
      'POST',
      '--data-binary',
      `@${file}`,
      url('/echo'),
      '--next',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'hello',
      url('/echo'),
    ]);
    expect(r.stderr).toBe('');
    const answers = r.stdout
      .replaceAll('}{', '}\n{')
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(answers.map((a) => [a.method, a.bodyBytes])).toEqual([
      ['GET', 0],
      ['POST', 200_000],
      ['POST', 5],
    ]);
    const mine = h.events.slice(before);
    expect(mine.filter((e) => e.type === 'app.session.start')).toHaveLength(1);
    expect(mine.filter((e) => e.type === 'app.request').map((e) => e.bytes_in)).toEqual([
      0,
      200_000,
      expect.any(Number),
    ]);
  });

  test('a streamed answer arrives chunk by chunk', async () => {
    const r = await curl(['-N', url('/stream')]);
    expect(r.stdout).toBe('chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n');
  });

  test("a redirect to the app's internal address comes back pointing at its public address", async () => {
    const r = await curl(['-o', '/dev/null', '-w', '%{redirect_url}', url('/redirect')]);
    expect(r.stdout).toBe('https://grafana.tp.example.com/x?y=1');
  });

  test('a WebSocket upgrade passes through and echoes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/ws`);
    const got = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send('ping over tp');
      ws.onmessage = (m) => resolve(String(m.data));
      ws.onerror = () => reject(new Error('websocket failed'));
      setTimeout(() => reject(new Error('no echo in 5 s')), 5_000);
    });
    ws.close();
    expect(got).toBe('ping over tp');
    expect(h.events.findLast((e) => e.type === 'app.request')).toMatchObject({ status: 101, upgrade: 'websocket' });
  });

  test('a request smuggling attempt (Content-Length with Transfer-Encoding) never reaches the app', async () => {
    const before = h.seen.length;
    const r = await curl([
      '-H',
      'Transfer-Encoding: chunked',
      '-H',
      'Content-Length: 3',
      '--data-binary',
      'abc',
      url('/echo'),
    ]);
    expect(r.stdout).toContain('tp: bad request');
    expect(h.seen.length).toBe(before);
  });

  test("auth's refusal of the token is the user's answer (403 with the reason), audited; the app is never asked", async () => {
    const before = h.seen.length;
    refusal = 'user "alice" is locked: left';
    try {
      const r = await curl(['-w', '\n%{http_code}', url('/echo')]);
      expect(r.stdout).toBe('tp: access to app "grafana" denied: user "alice" is locked: left\n\n403');
    } finally {
      refusal = undefined;
    }
    expect(h.seen.length).toBe(before);
    expect(h.events.findLast((e) => e.type === 'app.session.start')).toMatchObject({
      success: false,
      error: 'user "alice" is locked: left',
    });
  });
});
