// App certificates (`POST /v1/apps/cert`, `tp apps login`) are good for their own app only: issued to users whose
// roles reach the app (refusals audited), and refused by the proxy, auth and agents everywhere else.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import * as v from 'valibot';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema, type AppCert, AppCertSchema } from '../../core/api/schemas.ts';
import { appRouteFromCert } from '../../core/auth/appCert.ts';
import { parseHostPort } from '../../core/net/index.ts';
import { readHeader, writeHeader } from '../../core/tunnel/header.ts';
import { auditOf } from '../helpers/audit.ts';
import { clientKeys, startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { type UserTlsCert, userTlsCert } from '../helpers/dbca.ts';

let c: TestCluster;
let tlsCa: string[];
let alice: UserTlsCert;
const upstream = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: (req) =>
    Response.json({ user: req.headers.get('tp-jwt-assertion') ? 'token' : 'none', path: new URL(req.url).pathname }),
});

beforeAll(async () => {
  const uri = `http://127.0.0.1:${upstream.port}`;
  c = await startTestCluster({
    agents: [{ name: 'app-agent', pluginFlags: { app: [`grafana=${uri}`, `billing=${uri}`] } }],
  });
  await waitFor('the app resources', async () => (await c.proxy.view.resources('app')).length === 2, 15_000);
  tlsCa = (await c.auth.client.getCa('tls')).tlsCerts;
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'no-apps' }, spec: { allow: {}, deny: { app_labels: { '*': '*' } } } },
  });
  await c.auth.client.createUser({ name: 'alice', roles: ['access'], traits: { logins: ['alice'] } });
  await c.auth.client.createUser({ name: 'erin', roles: ['access', 'no-apps'], traits: {} });
  alice = await userTlsCert(c.auth, 'alice', 1_800_000);
}, 60_000);
afterAll(async () => {
  await c?.close();
  await upstream.stop(true);
});

/** The proxy's web API as the holder of `creds`. */
const proxyAs = (creds: { pem: string; key: string }) =>
  new ApiClient([c.proxy.addr], { ca: tlsCa, cert: creds.pem, key: creds.key });

/** Asks for an app certificate through the proxy (as `tp apps login` does) with the caller's certificate. */
async function askAppCert(creds: { pem: string; key: string }, app: string, extra: object = {}) {
  const k = clientKeys();
  const body = { app, tlsPublicKey: k.tlsPublicKey, publicAddr: `${app}.localhost`, ...extra };
  const answer = await proxyAs(creds).send(AppCertSchema, 'POST', '/webapi/auth/v1/apps/cert', body);
  return { answer, pem: answer.cert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Opens the proxy's tp-app-http ALPN id (default framing) and sends the route line; the proxy's answer. */
async function framed(creds: { pem: string; key: string }, alpn: string, target: string) {
  const [host, port] = parseHostPort(c.proxy.addr);
  const sock = tlsConnect({
    host,
    port,
    ca: tlsCa,
    cert: creds.pem,
    key: creds.key,
    ALPNProtocols: [alpn],
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  writeHeader(sock, { v: 1, target, principal: 'alice', route: {} });
  const answer = await readHeader(
    sock,
    v.looseObject({ ok: v.boolean(), error: v.optional(v.object({ code: v.string(), message: v.string() })) }),
    64 * 1024,
    10_000,
  );
  return { sock, answer };
}

describe('app certificates: issuance', () => {
  test('a user whose roles reach the app gets one naming the app, ending no later than their own', async () => {
    const issued: AppCert = (await askAppCert(alice, 'grafana')).answer;
    expect(issued).toMatchObject({ app: 'grafana', publicAddr: 'grafana.localhost' });
    expect(issued.ca).toEqual(tlsCa);
    const x = new X509Certificate(issued.cert);
    expect(appRouteFromCert(x.raw)).toEqual({ app: 'grafana', publicAddr: 'grafana.localhost' });
    expect(Date.parse(x.validTo)).toBeLessThanOrEqual(alice.notAfter);
    expect(x.subject).toContain('CN=alice');
    await waitFor('the cert.create event', async () =>
      (await auditOf(c.auth.admin, 'cert.create', { user: 'alice' })).some(
        (e) => e.cert_type === 'app' && e.app_name === 'grafana',
      ),
    );
  });

  test("a role that denies the app's labels is refused, and the refusal audited", async () => {
    const erin = await userTlsCert(c.auth, 'erin');
    await expect(askAppCert(erin, 'grafana')).rejects.toThrow('access to app "grafana" is not allowed by roles');
    await waitFor('the refusal in the audit log', async () =>
      (await auditOf(c.auth.admin, 'auth.attempt', { user: 'erin' })).some(
        (e) => e.action === 'app.cert' && e.app_name === 'grafana' && String(e.error).includes('not allowed'),
      ),
    );
  });

  test('an app that is locked, or not served, gets none', async () => {
    const lock = await c.auth.client.createLock({ target: { resource: 'app/billing' }, message: 'maintenance' });
    try {
      await expect(askAppCert(alice, 'billing')).rejects.toThrow('app "billing" is locked: maintenance');
    } finally {
      await c.auth.client.removeLock(lock.id);
    }
    await expect(askAppCert(alice, 'nope')).rejects.toThrow('no app "nope"');
  });

  test('the address asked must be the app’s own', async () => {
    await expect(askAppCert(alice, 'grafana', { publicAddr: 'billing.localhost' })).rejects.toThrow(
      'app "grafana" is reached on grafana.<proxy host>',
    );
  });

  test('an app certificate cannot ask for another one', async () => {
    const app = await askAppCert(alice, 'grafana');
    await expect(askAppCert(app, 'billing')).rejects.toThrow('this endpoint is for user identities');
    // Straight to auth's own port, too.
    const direct = new ApiClient([c.auth.server.addr], { ca: tlsCa, cert: app.pem, key: app.key });
    const k = clientKeys();
    await expect(
      direct.send(AppCertSchema, 'POST', '/v1/apps/cert', { app: 'billing', tlsPublicKey: k.tlsPublicKey }),
    ).rejects.toThrow('an app certificate cannot ask for another');
  });
});

describe('app certificates: good for their own app only', () => {
  test('reaches its own app through the proxy, with an identity token for the user', async () => {
    const app = await askAppCert(alice, 'grafana');
    const { sock, answer } = await framed(app, 'tp-app-http', 'grafana');
    expect(answer).toMatchObject({ ok: true });
    sock.write('GET /hi HTTP/1.1\r\nHost: grafana.localhost\r\nConnection: close\r\n\r\n');
    let http = '';
    sock.on('data', (d: Buffer) => {
      http += d.toString();
    });
    sock.resume(); // handed over paused, just past the proxy's answer
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 10_000);
      sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    expect(http).toStartWith('HTTP/1.1 200');
    expect(http).toContain('{"user":"token","path":"/hi"}');
  });

  test('is refused for another app, audited', async () => {
    const app = await askAppCert(alice, 'grafana');
    const { sock, answer } = await framed(app, 'tp-app-http', 'billing');
    sock.destroy();
    expect(answer).toMatchObject({
      ok: false,
      error: { code: 'access_denied', message: 'this certificate is for app "grafana" only, not for app "billing"' },
    });
    await waitFor('the refusal in the audit log', async () =>
      (await auditOf(c.auth.admin, 'auth.attempt', { user: 'alice' })).some((e) =>
        String(e.error).includes('not for app "billing"'),
      ),
    );
  });

  test('is refused on other protocols, the web API and the auth API', async () => {
    const app = await askAppCert(alice, 'grafana');
    const db = await framed(app, 'tp-db-postgres', 'pg1');
    db.sock.destroy();
    expect(db.answer).toMatchObject({ ok: false, error: { code: 'access_denied' } });
    expect(db.answer.error?.message).toContain('this certificate is for app "grafana" only');
    await expect(proxyAs(app).send(v.unknown(), 'GET', '/webapi/nodes')).rejects.toThrow('for user identities');
    await expect(proxyAs(app).send(v.unknown(), 'GET', '/webapi/resources?kind=app')).rejects.toThrow(
      'for user identities',
    );
    await expect(proxyAs(app).send(v.unknown(), 'GET', '/webapi/auth/v1/roles')).rejects.toThrow('for user identities');
    const direct = new ApiClient([c.auth.server.addr], { ca: tlsCa, cert: app.pem, key: app.key });
    await expect(direct.send(v.unknown(), 'GET', '/v1/roles')).rejects.toThrow('may not role.list');
  });
});
