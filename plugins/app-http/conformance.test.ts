// The plugin conformance suite (core/plugin/conformance.ts) for app-http, through a real cluster: one agent serving
// an upstream written for the test over its reverse tunnel, one direct agent serving it under another name (both by
// `--app`), and an app the test user's roles do not reach (apps have no principal: the refusal is by labels).
import { afterAll, beforeAll, describe, test } from 'bun:test';
import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { AckSchema, AuditEventSchema } from '../../core/api/schemas.ts';
import { formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../../core/crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import { appSpec, withFixtureApp } from '../../test/helpers/appFixture.ts';
import { clientKeys, startTestCluster, type TestCluster, waitFor } from '../../test/helpers/cluster.ts';
import appPlugin from './index.ts';

let cluster: TestCluster;
let harness: ConformanceHarness;
const upstream = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('hello from the app\n') });

/** One keep-alive HTTP/1.1 exchange: a GET answered 200 with the upstream's body (the connection stays open). */
function httpExchange(sock: Duplex): Promise<void> {
  let got = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the app; got ${JSON.stringify(got)}`)), 10_000);
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('hello from the app\n')) return;
      clearTimeout(timer);
      sock.off('data', onData);
      if (got.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(`the app answered ${JSON.stringify(got.split('\r\n')[0])}`));
    };
    sock.on('data', onData);
    sock.once('close', () => reject(new Error(`closed before the answer; got ${JSON.stringify(got)}`)));
    sock.resume(); // handed over paused, just past the proxy's answer
    sock.write('GET / HTTP/1.1\r\nHost: conformance.test\r\n\r\n');
  });
}

beforeAll(async () => {
  const uri = `http://127.0.0.1:${upstream.port}`;
  // `a-denied` (env prod) is heartbeated by a fixture app plugin: the proxy refuses it before any stream.
  cluster = await startTestCluster({
    plugins: withFixtureApp(() => [appSpec('a-denied', uri, { env: 'prod' })]),
  });
  await cluster.addAgent({ name: 'app-tunnel', pluginFlags: { app: [`a-tunnel=${uri}`] } });
  const direct = await cluster.addAgent({
    name: 'app-direct',
    direct: true,
    pluginFlags: { app: [`a-direct=${uri}`] },
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      metadata: { name: 'app-tester' },
      spec: { allow: { app_labels: { '*': '*' } }, deny: { app_labels: { env: 'prod' } } },
    },
  });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['app-tester'], password: 'correct horse battery' });
  const proxyId = requireHostIdentity(cluster.layout.proxyDir);
  const user = async (ttlMs?: number) => {
    const k = clientKeys();
    const r = await cluster.auth.client.signUser({
      username: 'alice',
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
      ttlMs,
    });
    return { cert: r.tlsCert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  };
  harness = {
    proxy: { addr: cluster.proxy.addr, ca: proxyId.tlsCa },
    resources: [
      { name: 'a-tunnel', via: 'tunnel' },
      { name: 'a-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    deniedResource: 'a-denied',
    user,
    proxyTls: { cert: proxyId.tlsCert, key: proxyId.tlsKey },
    foreignUser: async () => {
      const ca = await createTlsCA('evil.example', Date.now());
      const k = generateKeyPair('p256');
      const cert = await issueTlsCert({
        ca,
        publicKey: k.publicKey,
        subject: { commonName: 'alice', organization: ['app-tester'], identity: { kind: 'user' } },
        now: Date.now(),
        ttlMs: 3_600_000,
        usage: 'client',
      });
      return { cert, key: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    },
    events: (type) => cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}`),
    protocol: { request: () => ({ route: {} }), exercise: httpExchange },
  };
  await waitFor(
    'the apps in the cluster state',
    async () => {
      const found = await Promise.all(
        ['a-tunnel', 'a-direct', 'a-denied'].map((n) =>
          cluster.proxy.view.resolveResource('app', n).catch(() => undefined),
        ),
      );
      return found.every(Boolean);
    },
    15_000,
  );
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await upstream.stop(true);
});

describe('plugin conformance: app-http', () => {
  for (const c of conformanceChecks(appPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);
});
