// The tunnels section's witness: a real `tp agent start` behind the bench's second proxy, and `tp ssh` to it from a
// user logged in through that proxy, timed before a reconnect storm and while it lasts.
import { join } from 'node:path';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { CreatedTokenSchema } from '../../core/api/schemas.ts';
import { run } from '../helpers/cli.ts';
import { type BenchCluster, entry, me, PASSWORD } from './cluster.ts';
import { median } from './ssh.ts';

/** `tp ssh` timings to one agent behind a proxy, and how many runs failed. */
export interface StormProbe {
  /** One `tp ssh storm-node true`: its wall time (ms), or undefined when it failed. */
  once(): Promise<number | undefined>;
  /** Median of `n` runs that must all succeed (the quiet reference). */
  quiet(n: number): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the witness agent through `proxyAddr` and logs a user in there. */
export async function startStormProbe(c: BenchCluster, proxyAddr: string): Promise<StormProbe> {
  const admin = loadAdminIdentity(c.dataDir);
  const api = new ApiClient(admin.servers, admin.tls);
  const { token } = await api.post(CreatedTokenSchema, '/v1/tokens', { roles: ['node'], ttlMs: 600_000 });
  const agent = Bun.spawn(
    [
      process.execPath,
      entry,
      'agent',
      'start',
      '--proxy',
      proxyAddr,
      '--token',
      token,
      '--name',
      'storm-node',
      '--data-dir',
      join(c.dir, 'storm-node'),
    ],
    { stdout: 'ignore', stderr: 'ignore', env: { ...process.env, TP_LOG_FORMAT: 'json' } },
  );
  const home = { TP_HOME: join(c.dir, 'storm-home') };
  const login = await run(
    [process.execPath, entry, 'login', '--proxy', proxyAddr, '--user', 'bench', '--password-stdin', '--insecure'],
    { env: home, stdin: PASSWORD },
  );
  if (login.code !== 0) throw new Error(`storm probe login failed: ${login.stderr}`);
  const once = async () => {
    const r = await run([process.execPath, entry, 'ssh', `${me}@storm-node`, 'true'], { env: home });
    return r.code === 0 ? r.ms : undefined;
  };
  // The agent is up once an ssh to it works (bounded: 30 s).
  const t0 = Date.now();
  while ((await once()) === undefined) {
    if (Date.now() - t0 > 30_000) throw new Error('the storm witness agent never became reachable');
    await Bun.sleep(200);
  }
  return {
    once,
    quiet: (n) =>
      median(n, async () => {
        const ms = await once();
        if (ms === undefined) throw new Error('tp ssh to the storm witness failed while quiet');
        return ms;
      }),
    stop: async () => {
      agent.kill('SIGTERM');
      await agent.exited;
    },
  };
}
