// The proxy's `*.kube.<cluster>` name survives a CA rotation: through `tp start` and a kube agent, a manual rotation of
// every CA; once the proxy serves its certificate from the new TLS CA, that certificate still names
// `*.kube.<cluster>` and stock kubectl, after `tp login` and `tp kube login` again, still reaches the cluster.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as v from 'valibot';
import { waitFor } from './helpers/cluster.ts';
import { KUBE_E2E_CLUSTER, type KubeProxyCluster, startKubeProxyCluster } from './helpers/kubeProxyCluster.ts';

const ROLE = `kind: role
metadata: {name: kube-dev}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_users: [alice-k8s]}
`;
const SNI = `k1.kube.${KUBE_E2E_CLUSTER}`;

const RotationStatus = v.object({
  state: v.object({ phase: v.string() }),
  servers: v.array(v.object({ caught_up: v.boolean() })),
});

describe('kube through a CA rotation', () => {
  let dir: string;
  let c: KubeProxyCluster;

  /** The certificate the proxy serves for the kube server name (not verified: the test reads it). */
  const served = (): Promise<X509Certificate> => {
    const [host, port] = c.proxy.split(':');
    const sock = connect({ host, port: Number(port), servername: SNI, rejectUnauthorized: false });
    return new Promise((resolve, reject) => {
      sock.once('secureConnect', () => {
        const raw = sock.getPeerCertificate().raw;
        sock.destroy();
        resolve(new X509Certificate(raw));
      });
      sock.once('error', reject);
    });
  };
  const phase = async (name: string) => {
    if (name !== 'init') await c.admin(['rotate', 'phase', name]);
    await waitFor(
      `every server in ${name}`,
      async () => {
        const s = v.parse(RotationStatus, JSON.parse(await c.admin(['rotate', 'status', '--format', 'json'])));
        return s.state.phase === name && s.servers.every((x) => x.caught_up);
      },
      30_000,
    );
  };
  const getPods = async () => {
    const r = await (await c.kubeLogin('alice', 'k1')).kubectl(['get', 'pods']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('p1 ');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kube-rotation-'));
    c = await startKubeProxyCluster(dir, ROLE);
    await c.addUser('alice', ['kube-dev']);
    await c.startAgent([{ name: 'k1' }]);
    await c.waitOnline('alice', ['k1']);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the renewed proxy certificate still serves <name>.kube.<cluster>; kubectl works after logging in again', async () => {
    await getPods();
    const before = await served();
    expect(before.checkHost(SNI)).toBe(`*.kube.${KUBE_E2E_CLUSTER}`);
    await c.admin(['rotate', 'start', '--type', 'all', '--manual']);
    await phase('init');
    await phase('update_clients');
    await c.login('alice');
    await getPods();
    await phase('update_servers');
    let after = before;
    await waitFor('the proxy serving a certificate from the new CA', async () => {
      after = await served();
      return after.issuer !== before.issuer || after.fingerprint256 !== before.fingerprint256;
    });
    expect(after.checkHost(SNI)).toBe(`*.kube.${KUBE_E2E_CLUSTER}`);
    await getPods();
    await phase('standby');
    // Only the new TLS CA is left: it signed the renewed certificate, not the first one.
    const ca = new X509Certificate(await c.admin(['ca', 'export', '--type', 'tls'])).publicKey;
    expect(after.verify(ca)).toBe(true);
    expect(before.verify(ca)).toBe(false);
    await c.login('alice');
    await getPods();
  }, 120_000);
});
