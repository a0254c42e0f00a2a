// Plugins reached by TLS server name (kube, web apps) instead of an ALPN id: the proxy's router hands an http/1.1
// or ALPN-less connection whose SNI a plugin claims to that plugin, refusals go out in the plugin's own words, and
// every other server name still reaches the web API. Driven through a real cluster with the sniecho fixture.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { AckSchema } from '../core/api/schemas.ts';
import { formatAuthorizedKey, sshPublicBlob } from '../core/crypto/keys.ts';
import { type HostIdentity, requireHostIdentity } from '../core/identity/hostIdentity.ts';
import type { PluginLoader } from '../core/plugin/registry.ts';
import { PLUGINS } from '../plugins/index.ts';
import { clientKeys, startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';

const WITH_SNI: PluginLoader[] = [...PLUGINS, () => import('./fixtures/sniEchoPlugin.ts')];
let cluster: TestCluster;
let proxyId: HostIdentity;

/** A user's TLS credentials, signed by the cluster. */
async function creds(user: string) {
  const k = clientKeys();
  const r = await cluster.auth.client.signUser({
    username: user,
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
    tlsPublicKey: k.tlsPublicKey,
  });
  return { cert: r.tlsCert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Opens TLS to the proxy with `servername` and `alpn`, sends `send` once connected, collects what comes back. */
async function talk(
  servername: string,
  alpn: string[] | undefined,
  c: { cert: string; key: string } | undefined,
  send: string,
  until: (got: string) => boolean,
): Promise<{ got: string; alpn: string | false }> {
  const [host, port] = cluster.proxy.addr.split(':');
  const sock: TLSSocket = tlsConnect({
    host,
    port: Number(port),
    servername,
    ca: proxyId.tlsCa,
    ...c,
    ...(alpn ? { ALPNProtocols: alpn } : {}),
    checkServerIdentity: () => undefined,
  });
  await new Promise((r) => sock.once('secureConnect', r));
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString();
  });
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write(send);
  await Promise.race([closed, waitFor(`an answer on ${servername}`, () => until(got), 10_000)]);
  const negotiated = sock.alpnProtocol ?? false;
  sock.destroy();
  return { got, alpn: negotiated };
}

beforeAll(async () => {
  cluster = await startTestCluster({
    plugins: WITH_SNI,
    agents: [
      { name: 'sni-tunnel', pluginFlags: { sniecho: ['s1'] } },
      { name: 'sni-direct', direct: true, pluginFlags: { sniecho: ['s2'] } },
    ],
  });
  const role = (name: string, labels: Record<string, string>) =>
    cluster.auth.admin.post(AckSchema, '/v1/roles', {
      role: { metadata: { name }, spec: { allow: { logins: ['ops'], node_labels: labels } } },
    });
  await role('everywhere', { '*': '*' });
  await role('prod-only', { env: 'prod' });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['everywhere'], password: 'correct horse battery' });
  await cluster.auth.client.createUser({ name: 'bob', roles: ['prod-only'], password: 'correct horse battery' });
  proxyId = requireHostIdentity(cluster.layout.proxyDir);
  await waitFor(
    'the sniecho resources',
    async () => {
      const found = await Promise.all(
        ['s1', 's2'].map((n) => cluster.proxy.view.resolveResource('sniecho', n).catch(() => undefined)),
      );
      return found.every(Boolean);
    },
    15_000,
  );
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('routing by TLS server name', () => {
  const name = (svc: string) => `${svc}.sniecho.${proxyId.cluster}`;

  for (const [what, alpn] of [
    ['kubectl-style ALPN (h2, http/1.1)', ['h2', 'http/1.1']],
    ['no ALPN', undefined],
  ] as const)
    test(`${what} with a claimed server name reaches the plugin, over a tunnel and a direct agent`, async () => {
      const alice = await creds('alice');
      for (const svc of ['s1', 's2']) {
        const r = await talk(name(svc), alpn ? [...alpn] : undefined, alice, 'ping\n', (g) => g.includes('ping\n'));
        expect(r.got).toBe('hello alice\nping\n');
        // Never h2: the plugins behind SNI speak HTTP/1.1 to their agents.
        expect(r.alpn === false || r.alpn === 'http/1.1').toBe(true);
      }
    }, 30_000);

  test('a refusal at the proxy goes out in the plugin’s own words, not as a JSON line or the web UI', async () => {
    const r = await talk(name('s1'), ['http/1.1'], await creds('bob'), '', (g) => g.includes('\n'));
    expect(r.got).toBe('REFUSED access_denied: access to sniecho "s1" is not allowed by your roles\n');
  }, 20_000);

  test('no client certificate is refused by the plugin, naming tp login', async () => {
    const r = await talk(name('s1'), ['http/1.1'], undefined, '', (g) => g.includes('\n'));
    expect(r.got).toStartWith('REFUSED unauthenticated: a user certificate is required');
  }, 20_000);

  test('an unknown service under the plugin’s names is refused as not found', async () => {
    const r = await talk(name('nope'), ['http/1.1'], await creds('alice'), '', (g) => g.includes('\n'));
    expect(r.got).toStartWith('REFUSED not_found:');
  }, 20_000);

  test('a server name no plugin claims still reaches the web API', async () => {
    const r = await talk(
      'proxy.example',
      ['http/1.1'],
      undefined,
      'GET /webapi/ping HTTP/1.1\r\nHost: proxy.example\r\nConnection: close\r\n\r\n',
      (g) => g.includes('\r\n\r\n'),
    );
    expect(r.got).toStartWith('HTTP/1.1 200');
  }, 20_000);
});
