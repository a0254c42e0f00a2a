// kubectl through the proxy to a kube agent the proxy dials directly (no tunnel) and to one on a tunnel alike: the
// router hands the SNI connection to kube's generic path, which reaches either with the user's certificate and
// waits for the agent's ack. An in-process cluster (agents in direct and tunnel mode), stock kubectl 1.33.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckSchema } from '../core/api/schemas.ts';
import { formatAuthorizedKey, sshPublicBlob } from '../core/crypto/keys.ts';
import { requireHostIdentity } from '../core/identity/hostIdentity.ts';
import { clientKeys, startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';
import { kubectlHome } from './helpers/kubectl.ts';
import { startKubeStandIn } from './helpers/kubeProxyCluster.ts';
import type { KubeStandInSetup } from './helpers/kubeStandInSetup.ts';

describe('kubectl through the proxy to a direct and a tunnelled kube agent', () => {
  let dir: string;
  let s: KubeStandInSetup;
  let cluster: TestCluster;
  let files: { certPath: string; keyPath: string; ca: string };
  let proxyCluster: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kube-direct-'));
    s = await startKubeStandIn(dir);
    cluster = await startTestCluster({
      agents: [
        { name: 'kube-direct', direct: true, pluginFlags: { kube: [`kd=${s.kubeconfig}`] } },
        { name: 'kube-tunnel', pluginFlags: { kube: [`kt=${s.kubeconfig}`] } },
      ],
    });
    await cluster.auth.admin.post(AckSchema, '/v1/roles', {
      role: {
        metadata: { name: 'kube-all' },
        spec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_users: ['alice-k8s'] } },
      },
    });
    await cluster.auth.client.createUser({ name: 'alice', roles: ['kube-all'], password: 'correct horse battery' });
    const k = clientKeys();
    const signed = await cluster.auth.client.signUser({
      username: 'alice',
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
    });
    files = { certPath: join(dir, 'alice.crt'), keyPath: join(dir, 'alice.key'), ca: '' };
    writeFileSync(files.certPath, signed.tlsCert);
    writeFileSync(files.keyPath, k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    const proxyId = requireHostIdentity(cluster.layout.proxyDir);
    files.ca = proxyId.tlsCa.join('');
    proxyCluster = proxyId.cluster;
    await waitFor('both kube clusters reachable', async () => {
      const found = await Promise.all(
        ['kd', 'kt'].map((n) => cluster.proxy.view.resolveResource('kube', n).catch(() => undefined)),
      );
      return found.every(Boolean);
    });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    await s?.api.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['kd', 'kt'])
    test(`${name === 'kd' ? 'direct' : 'tunnel'} agent: kubectl get pods and exec, as the roles' user`, async () => {
      const home = kubectlHome({
        server: `https://${cluster.proxy.addr}`,
        caPem: files.ca,
        tlsServerName: `${name}.kube.${proxyCluster}`,
        certPath: files.certPath,
        keyPath: files.keyPath,
      });
      const r = await home.kubectl(['get', 'pods']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/\np1\s+1\/1\s+Running/);
      const ex = await home.kubectl(['exec', 'p1', '--', 'sh', '-c', 'exit 3']);
      expect(ex.code).toBe(3);
      expect(s.api.requests.at(-1)).toMatchObject({ authenticated: 'tp-agent', user: 'alice-k8s' });
    });
});
