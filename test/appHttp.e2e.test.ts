// app-http through a real cluster: an agent given its app by `--app`, the proxy's default framing on ALPN
// tp-app-http, the agent asking auth for the user's token, and an upstream verifying it against the proxy's JWKS.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { connect as tlsConnect } from 'node:tls';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import * as v from 'valibot';
import { ApiClient } from '../core/api/client.ts';
import { AckSchema, JwksSchema } from '../core/api/schemas.ts';
import { parseHostPort } from '../core/net/index.ts';
import { readHeader, writeHeader } from '../core/tunnel/header.ts';
import { auditOf } from './helpers/audit.ts';
import { startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';
import { type UserTlsCert, userTlsCert } from './helpers/dbca.ts';

let c: TestCluster;
let alice: UserTlsCert;
let tlsCa: string[];
let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
const upstream: ReturnType<typeof Bun.serve> = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req): Promise<Response> {
    const token = req.headers.get('tp-jwt-assertion') ?? '';
    const audience = `http://127.0.0.1:${upstream.port}`;
    let claims: JWTPayload | undefined;
    let error: string | undefined;
    try {
      claims = (await jwtVerify(token, jwks!, { issuer: 'test.cluster', audience })).payload;
    } catch (err) {
      error = (err as Error).message;
    }
    return Response.json({ claims, error, path: new URL(req.url).pathname });
  },
});

beforeAll(async () => {
  c = await startTestCluster({
    agents: [{ name: 'app-agent', pluginFlags: { app: [`grafana=http://127.0.0.1:${upstream.port}`] } }],
  });
  await waitFor('the app resource', async () => (await c.proxy.view.resources('app')).length === 1, 15_000);
  tlsCa = (await c.auth.client.getCa('tls')).tlsCerts;
  // The upstream knows only the proxy's public JWKS.
  jwks = createLocalJWKSet(
    await new ApiClient([c.proxy.addr], { ca: tlsCa }).get(JwksSchema, '/.well-known/jwks.json'),
  );
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: { logins: ['alice'] } });
  alice = await userTlsCert(c.auth, 'alice');
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'no-apps' }, spec: { allow: {}, deny: { app_labels: { '*': '*' } } } },
  });
  await c.auth.client.createUser({ name: 'erin', roles: ['access', 'no-apps'], traits: {} });
}, 60_000);
afterAll(async () => {
  await c?.close();
  await upstream.stop(true);
});

/** One HTTP request through the proxy on tp-app-http (default framing), answered whole (Connection: close). */
async function viaProxy(target: string, path: string, user = alice): Promise<{ answer: unknown; http: string }> {
  const [host, port] = parseHostPort(c.proxy.addr);
  const sock = tlsConnect({
    host,
    port,
    ca: tlsCa,
    cert: user.pem,
    key: user.key,
    ALPNProtocols: ['tp-app-http'],
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  writeHeader(sock, { v: 1, target });
  const answer = await readHeader(sock, v.looseObject({ ok: v.boolean() }), 64 * 1024, 10_000);
  sock.write(`GET ${path} HTTP/1.1\r\nHost: grafana.localhost\r\nConnection: close\r\n\r\n`);
  let http = '';
  sock.on('data', (d: Buffer) => {
    http += d.toString();
  });
  sock.resume();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { answer, http };
}

test("a request through the proxy reaches the app with a token that verifies against the proxy's JWKS", async () => {
  const { answer, http } = await viaProxy('grafana', '/hello');
  expect(answer).toMatchObject({ ok: true });
  expect(http).toStartWith('HTTP/1.1 200');
  const body = JSON.parse(http.slice(http.indexOf('\r\n\r\n') + 4));
  expect(body.error).toBeUndefined();
  expect(body.claims).toMatchObject({ sub: 'alice', username: 'alice', roles: ['access'], iss: 'test.cluster' });
  expect(body.path).toBe('/hello');
  // The agent's events reach auth through its spool: the session and the request, path without query.
  await waitFor('the app events at auth', async () => (await auditOf(c.auth.admin, 'app.session.end')).length > 0);
  expect((await auditOf(c.auth.admin, 'app.request')).at(-1)).toMatchObject({
    user: 'alice',
    app_name: 'grafana',
    method: 'GET',
    path: '/hello',
    status: 200,
  });
});

test("a role that denies the app's labels is refused at the proxy, before any byte reaches the app", async () => {
  const erin = await userTlsCert(c.auth, 'erin');
  const { answer, http } = await viaProxy('grafana', '/hello', erin);
  expect(answer).toMatchObject({ ok: false, error: { message: expect.stringContaining('access to app "grafana"') } });
  expect(http).toBe('');
});
