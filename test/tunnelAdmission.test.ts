// A proxy at its tunnel admission rate tells the agents beyond it when to come back, and they do: driven through a
// cluster of the composition root whose proxy takes one tunnel per second and four agents that dial at once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestCluster, type TestCluster, waitFor } from './helpers/cluster.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ proxy: { tunnelAdmission: { perSecond: 1 }, metricsListen: '127.0.0.1:0' } });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('server-directed reconnect', () => {
  test('agents beyond the rate are deferred with a hint, come back when told, and all end up connected', async () => {
    const before = cluster.proxy.tunnels.size;
    const names = ['storm-1', 'storm-2', 'storm-3', 'storm-4'];
    const t0 = Date.now();
    await Promise.all(names.map((name) => cluster.addAgent({ name })));
    await waitFor('every agent tunnel', () => cluster.proxy.tunnels.size >= before + names.length, 20_000);
    const metrics = await (await fetch(`http://${cluster.proxy.metricsAddr}/metrics`)).text();
    // Four at one per second: at least two were told to wait, and came back when told (no backoff cap waited out).
    const deferred = Number(/tp_proxy_tunnels_deferred_total (\d+)/.exec(metrics)?.[1]);
    expect(deferred).toBeGreaterThanOrEqual(2);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);
});
