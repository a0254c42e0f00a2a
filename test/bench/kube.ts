// `just bench` kube section: stock `kubectl get pods` through tp (the kubeconfig `tp kube login` writes: the proxy's
// TLS port by SNI, tp's exec credential plugin, the agent, the stand-in API server) beside the same kubectl straight
// to the stand-in with a client certificate of its own, in the same run, as ratios; then 20 kubectl runs at once
// each way (the credential plugin runs once per kubectl process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubectlHome } from '../helpers/kubectl.ts';
import { kubectlHome } from '../helpers/kubectl.ts';
import { startKubeProxyCluster } from '../helpers/kubeProxyCluster.ts';
import type { Row } from './table.ts';

const ROLE = `kind: role
metadata: {name: kube-bench}
spec:
  allow: {kubernetes_labels: {'*': '*'}, kubernetes_users: [bench], kubernetes_groups: [devs]}
`;

/** Milliseconds of one `kubectl get pods` in `home` (its discovery cache warm); throws when kubectl fails. */
async function getPods(home: KubectlHome): Promise<number> {
  const t0 = performance.now();
  const r = await home.kubectl(['get', 'pods']);
  if (r.code !== 0) throw new Error(`kubectl get pods failed (${r.code}): ${r.stderr.trim()}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The kube figures; BENCH_KUBE_RUNS (default 10) sequential runs each way, alternating, then 20 at once. */
export async function benchKube(): Promise<Row[]> {
  const runs = Number(process.env.BENCH_KUBE_RUNS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-kube-'));
  const c = await startKubeProxyCluster(dir, ROLE);
  try {
    await c.addUser('bench', ['kube-bench']);
    await c.startAgent([{ name: 'k1' }]);
    await c.waitOnline('bench', ['k1']);
    const viaTp = await c.kubeLogin('bench', 'k1');
    const own = await c.pki.clientCert('bench');
    const direct = kubectlHome({
      server: c.api.url,
      caPem: c.pki.serverCaPem,
      certPath: own.certPath,
      keyPath: own.keyPath,
    });
    // The same path with the tp certificate as files: the proxy and agent's share, without the credential plugin.
    const viaTpFiles = c.kubectl('bench', 'k1');
    // First runs fill each home's discovery cache, as a user's second kubectl finds it.
    for (const h of [viaTp, viaTpFiles, direct]) await getPods(h);
    const tp: number[] = [];
    const tpFiles: number[] = [];
    const ref: number[] = [];
    for (let i = 0; i < runs; i++) {
      ref.push(await getPods(direct));
      tp.push(await getPods(viaTp));
      tpFiles.push(await getPods(viaTpFiles));
    }
    const parallel = async (home: KubectlHome) => {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 20 }, () => getPods(home)));
      return performance.now() - t0;
    };
    const refWall = await parallel(direct);
    const tpWall = await parallel(viaTp);
    const reference = 'kubectl straight to the API server';
    return [
      {
        figure: `kubectl get pods, median of ${runs}`,
        tp: median(tp),
        reference: median(ref),
        referenceName: reference,
        unit: 'ms',
        higherIsBetter: false,
      },
      {
        figure: `kubectl get pods, tp certificate files (no credential plugin), median of ${runs}`,
        tp: median(tpFiles),
        reference: median(ref),
        referenceName: reference,
        unit: 'ms',
        higherIsBetter: false,
      },
      {
        figure: '20 kubectl get pods at once, wall time',
        tp: tpWall,
        reference: refWall,
        referenceName: reference,
        unit: 'ms',
        higherIsBetter: false,
      },
    ];
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
