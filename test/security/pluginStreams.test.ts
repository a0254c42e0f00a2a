// Streams to an agent's plugins that did not come through the proxy's checks: a peer holding a proxy identity (a
// compromised or buggy proxy) dials a direct agent and writes the stream header itself. The agent must take the
// user from the certificate it verifies, never from the header, and refuse what it cannot verify.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AckSchema } from '../../core/api/schemas.ts';
import { type HostIdentity, requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import type { PluginLoader } from '../../core/plugin/registry.ts';
import { PLUGINS } from '../../plugins/index.ts';
import { startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { derOf, dialAgentAsProxy, signedUser } from '../helpers/conformanceHarness.ts';

const WITH_ECHO: PluginLoader[] = [...PLUGINS, () => import('../fixtures/echoPlugin.ts')];
let cluster: TestCluster;
let proxyId: HostIdentity;
let agentAddr: string;

/** Alice's TLS certificate as base64 DER (what a stream header carries), valid `ttlMs`. */
async function aliceCert(ttlMs?: number): Promise<string> {
  return derOf((await signedUser(cluster, 'alice')(ttlMs)).cert);
}

/** Opens a stream to the direct agent as the proxy, writes `header` (or raw text), and collects what comes back. */
async function forge(header: Record<string, unknown> | string): Promise<string> {
  const sock = await dialAgentAsProxy(agentAddr, proxyId);
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString();
  });
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write(typeof header === 'string' ? header : `${JSON.stringify({ v: 1, client: '10.0.0.9:1', ...header })}\n`);
  await Promise.race([closed, waitFor('an answer', () => got.includes('\n'), 5_000)]);
  sock.destroy();
  return got;
}

beforeAll(async () => {
  cluster = await startTestCluster({
    plugins: WITH_ECHO,
    agents: [{ name: 'echo-direct', direct: true, pluginFlags: { echo: ['e1'] } }],
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'echoer' }, spec: { allow: { logins: ['ops'], node_labels: { '*': '*' } } } },
  });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['echoer'], password: 'correct horse battery' });
  await cluster.auth.client.createUser({ name: 'root-admin', roles: ['echoer'], password: 'correct horse battery' });
  proxyId = requireHostIdentity(cluster.layout.proxyDir);
  agentAddr = cluster.agents.get('echo-direct')!.directAddr!;
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('plugin streams the proxy did not vouch for', () => {
  test("the header naming another user changes nothing: the session is the certificate holder's", async () => {
    const got = await forge({
      service: 'echo',
      resource: 'e1',
      user: 'root-admin',
      cert: await aliceCert(),
      route: { login: 'ops' },
    });
    // The agent's ack line first (the proxy waits for it), then the plugin's own bytes.
    expect(got).toStartWith('{"ok":true}\nhello alice as ops\n');
  });

  test('a stream without a certificate is refused, whatever user the header names', async () => {
    const got = await forge({ service: 'echo', resource: 'e1', user: 'alice', route: { login: 'ops' } });
    expect(JSON.parse(got.split('\n')[0]!)).toEqual({
      ok: false,
      error: { code: 'unauthenticated', message: 'this stream carries no user certificate: connect through the proxy' },
    });
  });

  test('an expired certificate is refused', async () => {
    const cert = await aliceCert(1_000);
    await Bun.sleep(2_100); // the certificate's validity ends on a whole second
    const got = await forge({ service: 'echo', resource: 'e1', cert, route: { login: 'ops' } });
    expect(got).toContain('"code":"unauthenticated"');
    expect(got).toContain('expired');
  });

  test("a node's certificate is not a user's", async () => {
    const node = requireHostIdentity(cluster.agentDirs.get('echo-direct')!);
    const der = Buffer.from(node.tlsCert.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const got = await forge({ service: 'echo', resource: 'e1', cert: der, route: { login: 'ops' } });
    expect(got).toContain('"code":"unauthenticated"');
    expect(got).toContain('a user certificate is required, not a node certificate');
  });

  test('a plugin this agent does not run is refused, not served by another plugin', async () => {
    const got = await forge({ service: 'db-postgres', resource: 'e1', cert: await aliceCert() });
    expect(got).toContain('this agent serves no plugin \\"db-postgres\\"');
    expect(got).not.toContain('SSH-2.0');
  });

  test('an oversized header is refused without reading it all', async () => {
    const got = await forge(`{"v":1,"service":"echo","pad":"${'x'.repeat(40 * 1024)}"`);
    expect(got).toContain('stream header longer than 32768 bytes');
  });
});
