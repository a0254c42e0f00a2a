// The plugin conformance suite (core/plugin/conformance.ts) for app-http, through a real cluster: one agent serving
// an upstream written for the test over its reverse tunnel, one direct agent serving it under another name (both by
// `--app`), and an app the test user's roles do not reach (apps have no principal: the refusal is by labels). Run
// twice: on the plugin's ALPN id in the default framing, and on the apps' own hosts (TLS server name
// `<app>.localhost`, http/1.1) with app certificates from `POST /v1/apps/cert`, as curl after `tp apps login`.
import { afterAll, beforeAll, describe, test } from 'bun:test';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema, AppCertSchema } from '../../core/api/schemas.ts';
import { issueAppCert } from '../../core/auth/appCert.ts';
import { type ConformanceHarness, conformanceChecks, type TlsCreds } from '../../core/plugin/conformance.ts';
import { clientKeys, startTestCluster, type TestCluster } from '../../test/helpers/cluster.ts';
import {
  auditEvents,
  foreignUser,
  proxySide,
  signedUser,
  waitForResources,
} from '../../test/helpers/conformanceHarness.ts';
import { answerOf, httpExchange as askHttp, openSni } from '../../test/helpers/conformanceHttp.ts';
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
  cluster = await startTestCluster({
    // A DNS public host, so that the proxy serves apps on `<app>.localhost` (the port is never dialled).
    proxy: { publicAddr: 'localhost:3080' },
  });
  await cluster.addAgent({ name: 'app-tunnel', pluginFlags: { app: [`a-tunnel=${uri}`] } });
  // `a-denied` (env prod), from the agent's tp.yaml: the proxy refuses it before any stream.
  await cluster.addAgent({
    name: 'app-denied',
    yaml: `apps: {enabled: true, apps: [{name: a-denied, uri: "${uri}", labels: {env: prod}}]}\n`,
  });
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
  harness = {
    ...proxySide(cluster),
    resources: [
      { name: 'a-tunnel', via: 'tunnel' },
      { name: 'a-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    deniedResource: 'a-denied',
    user: signedUser(cluster, 'alice'),
    foreignUser: () => foreignUser('alice', ['app-tester']),
    events: auditEvents(cluster),
    protocol: { request: () => ({ route: {} }), exercise: httpExchange },
  };
  await waitForResources(cluster, 'app', ['a-tunnel', 'a-direct', 'a-denied']);
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await upstream.stop(true);
});

describe('plugin conformance: app-http', () => {
  for (const c of conformanceChecks(appPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);
});

/** One GET of the app's page on its own host; the answer. */
const getPage = (sock: TLSSocket) =>
  askHttp(sock, `GET / HTTP/1.1\r\nHost: ${sock.servername}\r\nUser-Agent: tp-conformance\r\n\r\n`);

/**
 * An app certificate for `app`: asked from auth through the proxy with the user's own certificate (as `tp apps
 * login`); for the app the roles do not reach (auth refuses to issue one), signed by the cluster's TLS CA directly,
 * as one issued before a role change took the app away.
 */
async function appCert(user: TlsCreds, app: string): Promise<TlsCreds> {
  const k = clientKeys();
  const key = k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicAddr = `${app}.localhost`;
  if (app === harness.deniedResource) {
    const now = Date.now();
    const { cert } = await issueAppCert({
      tlsCa: cluster.auth.server.service.ca('tls'),
      username: 'alice',
      roles: ['app-tester'],
      traits: {},
      route: { app, publicAddr },
      tlsPublicKey: k.tlsPublicKey,
      notAfter: now + 3_600_000,
      now,
    });
    return { cert, key };
  }
  const api = new ApiClient([cluster.proxy.addr], { ca: harness.proxy.ca, cert: user.cert, key: user.key });
  const r = await api.send(AppCertSchema, 'POST', '/webapi/auth/v1/apps/cert', {
    app,
    publicAddr,
    tlsPublicKey: k.tlsPublicKey,
  });
  return { cert: r.cert, key };
}

describe('plugin conformance: app-http on the app hosts, with app certificates', () => {
  const onHost = (): ConformanceHarness => ({
    ...harness,
    protocol: {
      ...harness.protocol,
      open: async (creds, app) => {
        const sock = await openSni(
          cluster.proxy.addr,
          harness.proxy.ca,
          `${app}.localhost`,
          creds && (await appCert(creds, app)),
        );
        // Without a certificate or cookie the host sends the browser to the launcher to log in.
        return { sock, answer: answerOf(await getPage(sock), /^https:\/\/localhost:3080\/web\/launch\//) };
      },
      // The launcher's redirect keeps the connection: the browser comes back on it with the session.
      refusalCloses: false,
      exercise: async (sock) => {
        const a = await getPage(sock as TLSSocket);
        if (a.status !== 200 || a.body !== 'hello from the app\n')
          throw new Error(`the app host answered ${a.status}: ${a.body.slice(0, 200)}`);
      },
    },
  });
  for (const c of conformanceChecks(appPlugin, onHost)) test(c.name, c.run, c.timeoutMs);
});
