import { startTestCluster, waitFor } from '../helpers/cluster.ts';
import type { Row } from './table.ts';

/**
 * A full automatic rotation of all three CAs with N tunnel agents polling at the production interval (5 s): the
 * wall time from `start` to the final standby, with every agent renewed and reporting. No OpenSSH counterpart.
 */
export async function benchRotation(): Promise<Row[]> {
  const n = Number(process.env.BENCH_ROTATION_AGENTS ?? 50);
  const c = await startTestCluster({ auth: { rotationTickMs: 1000 } });
  try {
    for (let i = 0; i < n; i++) await c.addAgent({ name: `rot${i}`, options: { stateMs: 5000, heartbeatMs: 30_000 } });
    const svc = c.auth.server.service;
    const t0 = performance.now();
    await c.auth.client.startRotation({
      types: ['user', 'host', 'tls'],
      mode: 'auto',
      graceMs: 0,
      timeoutMs: 600_000,
    });
    const phases: Record<string, number> = {};
    await waitFor(
      'the rotation to finish',
      async () => {
        const { state } = await svc.rotation.store.get();
        phases[state.phase] ??= performance.now() - t0;
        return state.phase === 'standby';
      },
      600_000,
    );
    const total = (performance.now() - t0) / 1000;
    const { state } = await svc.rotation.store.get();
    if (state.last?.result !== 'completed') throw new Error(`rotation ended ${state.last?.result}`);
    return [
      {
        figure: `automatic rotation of all CAs, ${n} tunnel agents polling every 5 s (start to standby)`,
        tp: total,
        unit: 's',
        higherIsBetter: false,
      },
    ];
  } finally {
    await c.close();
  }
}
