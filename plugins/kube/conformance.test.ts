// The plugin conformance suite (core/plugin/conformance.ts) for kube, through a real cluster built by the
// composition root: one agent serving cluster k-tunnel over its reverse tunnel, one direct agent serving k-direct,
// both given `--kube NAME=<kubeconfig>` for the stand-in API server. kube has no ALPN id: the suite reaches it as
// kubectl does (TLS server name `<name>.kube.<tp cluster>`, ALPN http/1.1) and reads its answers as HTTP statuses.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { AckSchema } from '../../core/api/schemas.ts';
import { type HostIdentity, requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import type { KubeStandIn } from '../../test/fixtures/kubeApiServer.ts';
import { startTestCluster, type TestCluster } from '../../test/helpers/cluster.ts';
import {
  auditEvents,
  foreignUser,
  proxySide,
  signedUser,
  waitForResources,
} from '../../test/helpers/conformanceHarness.ts';
import { answerOf, httpExchange, openSni } from '../../test/helpers/conformanceHttp.ts';
import { startKubeStandInSetup } from '../../test/helpers/kubeStandInSetup.ts';
import kubePlugin from './index.ts';
import { kubeServerName } from './sni.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-kube-conformance-'));
let api: KubeStandIn;
let cluster: TestCluster;
let proxyId: HostIdentity;
let harness: ConformanceHarness;

/** One request on a kube connection, as kubectl writes it (`--as` becomes Impersonate-User). */
const request = (sock: TLSSocket, path: string, as?: string) =>
  httpExchange(
    sock,
    `GET ${path} HTTP/1.1\r\nHost: ${sock.servername}\r\nAccept: application/json\r\n` +
      `User-Agent: tp-conformance\r\n${as ? `Impersonate-User: ${as}\r\n` : ''}\r\n`,
  );

/** Lists the stand-in's pods on a connection past its first answer. */
async function listPods(sock: Duplex): Promise<void> {
  const a = await request(sock as TLSSocket, '/api/v1/namespaces/default/pods');
  if (a.status !== 200 || !a.body.includes('"p1"'))
    throw new Error(`pods list: HTTP ${a.status} ${a.body.slice(0, 300)}`);
}

beforeAll(async () => {
  const standIn = await startKubeStandInSetup(dir);
  api = standIn.api;
  const { kubeconfig } = standIn;
  cluster = await startTestCluster({
    agents: [
      { name: 'kube-tunnel', pluginFlags: { kube: [`k-tunnel=${kubeconfig}`] } },
      { name: 'kube-direct', direct: true, pluginFlags: { kube: [`k-direct=${kubeconfig}`] } },
    ],
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: {
      metadata: { name: 'kube-dev' },
      spec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_users: ['dev'], kubernetes_groups: ['devs'] } },
    },
  });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['kube-dev'], password: 'correct horse battery' });
  proxyId = requireHostIdentity(cluster.layout.proxyDir);
  const direct = cluster.agents.get('kube-direct')!;
  harness = {
    ...proxySide(cluster),
    resources: [
      { name: 'k-tunnel', via: 'tunnel' },
      { name: 'k-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    principals: {
      allowed: 'dev',
      denied: 'cluster-admin',
      // The agent judges `--as` per request: the refusal is a kube.request that names the user asked for.
      refusal: {
        type: 'kube.request',
        is: (e, denied) => e.user === 'alice' && typeof e.error === 'string' && e.error.includes(`"${denied}"`),
      },
    },
    user: signedUser(cluster, 'alice'),
    foreignUser: () => foreignUser('alice', ['kube-dev']),
    events: auditEvents(cluster),
    protocol: {
      // The route is the server name alone: the agent's stream carries none.
      request: () => ({}),
      open: async (creds, resource, principal) => {
        const sock = await openSni(cluster.proxy.addr, proxyId.tlsCa, kubeServerName(resource, proxyId.cluster), creds);
        return { sock, answer: answerOf(await request(sock, '/version', principal)) };
      },
      exercise: listPods,
    },
  };
  await waitForResources(cluster, 'kube', ['k-tunnel', 'k-direct']);
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('plugin conformance: kube', () => {
  for (const c of conformanceChecks(kubePlugin, () => harness, { sessionAudit: { start: 'kube.request' } }))
    test(c.name, c.run, c.timeoutMs);

  test('what reached the API server ran as the roles’ user, never as the one the roles deny', () => {
    const asked = api.requests.filter((r) => r.target.startsWith('/api/v1/namespaces/default/pods'));
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked.map((r) => r.user))).toEqual(new Set(['dev']));
    expect(api.requests.some((r) => r.user === 'cluster-admin')).toBe(false);
  });
});
