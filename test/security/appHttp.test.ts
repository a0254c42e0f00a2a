import { afterAll, beforeAll, expect, test } from 'bun:test';
import * as v from 'valibot';
import { AppSchema } from '../../plugins/app-http/index.ts';
import { type AppHarness, startAppHarness } from '../helpers/appAgentHarness.ts';
import { run } from '../helpers/cli.ts';

// A client of a web app must not be able to speak for tp: a forged identity token or forwarding header it sends
// never reaches the app; the app sees only the token tp signed for the real user.

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h?.close());

test('a client-sent tp-jwt-assertion, X-Forwarded-* or X-Tp-* header is removed before the app sees the request', async () => {
  const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInJvbGVzIjpbImFkbWluIl19.';
  const r = await run([
    'curl',
    '-sS',
    '--max-time',
    '10',
    '-H',
    `tp-jwt-assertion: ${forged}`,
    '-H',
    'TP-JWT-Assertion: second',
    '-H',
    'X-Forwarded-User: admin',
    '-H',
    'X-Forwarded-Login: root',
    '-H',
    'X-Tp-User: admin',
    '-H',
    'Forwarded: for=10.0.0.1;host=evil',
    `http://127.0.0.1:${h.port}/echo`,
  ]);
  expect(r.stderr).toBe('');
  const seen = JSON.parse(r.stdout);
  expect(seen.tokenError).toBeUndefined();
  expect(seen.claims.sub).toBe('alice');
  expect(seen.headers['tp-jwt-assertion']).not.toContain(forged);
  expect(seen.headers['tp-jwt-assertion']).not.toContain('second');
  expect(seen.headers['x-forwarded-user']).toBeUndefined();
  expect(seen.headers['x-tp-user']).toBeUndefined();
  expect(seen.headers.forwarded).toBeUndefined();
  // The configured rewrite wins over the client's value.
  expect(seen.headers['x-forwarded-login']).toBe('alice, ops');
});

test('an app entry cannot rewrite the headers tp vouches for', () => {
  const entry = (headers: string[]) => ({ name: 'a', uri: 'http://127.0.0.1:1', rewrite: { headers } });
  expect(v.safeParse(AppSchema, entry(['tp-jwt-assertion: x'])).success).toBe(false);
  expect(v.safeParse(AppSchema, entry(['X-Forwarded-For: 1.2.3.4'])).success).toBe(false);
  expect(v.safeParse(AppSchema, entry(['X-Team: {{internal.team}}'])).success).toBe(true);
  expect(v.safeParse(AppSchema, { name: 'a', uri: 'http://u:p@127.0.0.1:1' }).success).toBe(false);
});
