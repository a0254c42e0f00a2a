// An operator's certificate for app hosts (proxy.apps_cert_file / apps_key_file in tp.yaml): served to the TLS names
// it covers, the proxy's own name keeping the cluster certificate, and app certificates still verified under it.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ApiClient } from '../core/api/client.ts';
import { AppCertSchema } from '../core/api/schemas.ts';
import { type AppBrowserCluster, rawAppRequest, startAppBrowserCluster } from './helpers/appBrowserCluster.ts';
import { clientKeys } from './helpers/cluster.ts';
import { userTlsCert } from './helpers/dbca.ts';

let dir: string;
let a: AppBrowserCluster;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-appscert-'));
  const [cert, key] = [join(dir, 'apps.crt'), join(dir, 'apps.key')];
  execFileSync('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
    ...['-keyout', key, '-out', cert, '-subj', '/CN=operator apps'],
    ...['-addext', 'subjectAltName=DNS:grafana.localhost,DNS:*.apps.localhost'],
  ]);
  a = await startAppBrowserCluster({ proxyYaml: `apps_cert_file: "${cert}", apps_key_file: "${key}"` });
}, 90_000);
afterAll(async () => {
  await a?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The certificate the proxy serves for TLS server name `name` (with a client certificate when given). */
function servedFor(name: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: a.port, servername: name, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(s.getPeerCertificate().raw));
      s.end();
    });
    s.once('error', reject);
  });
}

test('the operator certificate is served to the names it covers, the cluster certificate to the proxy itself', async () => {
  expect((await servedFor('grafana.localhost')).subject).toContain('CN=operator apps');
  expect((await servedFor('x.apps.localhost')).subject).toContain('CN=operator apps');
  expect((await servedFor('localhost')).subject).not.toContain('operator apps');
  expect((await servedFor('billing.localhost')).subject).not.toContain('operator apps');
});

test('under the operator certificate an app certificate is still verified and reaches its app', async () => {
  const alice = await userTlsCert(a.c.auth, 'alice');
  const k = clientKeys();
  const proxy = new ApiClient([a.c.proxy.addr], { ca: a.tlsCa, cert: alice.pem, key: alice.key });
  const body = { app: 'grafana', tlsPublicKey: k.tlsPublicKey, publicAddr: `grafana.localhost:${a.port}` };
  const cert = await proxy.send(AppCertSchema, 'POST', '/webapi/auth/v1/apps/cert', body);
  const creds = { pem: cert.cert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const got = await rawAppRequest(
    a.port,
    'grafana.localhost',
    `GET /echo HTTP/1.1\r\nHost: grafana.localhost:${a.port}\r\nConnection: close\r\n\r\n`,
    creds,
  );
  expect(got).toStartWith('HTTP/1.1 200');
  expect(a.seen.at(-1)?.claims?.sub).toBe('alice');
  // Without a certificate or cookie the browser is sent to the launcher, as on the cluster certificate.
  const anon = await rawAppRequest(
    a.port,
    'grafana.localhost',
    `GET / HTTP/1.1\r\nHost: grafana.localhost:${a.port}\r\nConnection: close\r\n\r\n`,
  );
  expect(anon).toStartWith('HTTP/1.1 302');
});
