// `just bench` dist section: what `just dist` built (skipped, with a note, when nothing is built): binary and package
// sizes, the binary's `tp version` cold start beside `ssh -V`, and the compiled agent's idle memory.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { CreatedTokenSchema } from '../../core/api/schemas.ts';
import pkg from '../../package.json' with { type: 'json' };
import { type BenchCluster, rssMiB, runOk } from './cluster.ts';
import { median } from './ssh.ts';
import type { Row } from './table.ts';

const dir = process.env.BENCH_DIST ?? join(import.meta.dir, '..', '..', 'dist');
const ARTIFACTS = [
  'tp-linux-x64',
  'tp-linux-arm64',
  'tp-linux-x64-musl',
  'tp-linux-arm64-musl',
  `tp-${pkg.version}.tgz`,
];

/** Sizes, cold start and agent idle RSS of the built binaries; no rows (and a note) before `just dist`. */
export async function benchDist(c: BenchCluster): Promise<Row[]> {
  const x64 = join(dir, 'tp-linux-x64');
  if (!existsSync(x64)) {
    console.error(`bench: dist section skipped: no ${x64} (run \`just dist\` first)`);
    return [];
  }
  const rows: Row[] = ARTIFACTS.filter((a) => existsSync(join(dir, a))).map((a) => ({
    figure: `size of dist/${a}`,
    tp: statSync(join(dir, a)).size / 2 ** 20,
    unit: 'MiB',
    higherIsBetter: false,
  }));
  const cold = await median(9, () => runOk([x64, 'version']));
  const sshV = await median(9, () => runOk(['ssh', '-V']));
  rows.push({
    figure: '`tp version` cold start, compiled binary',
    tp: cold,
    reference: sshV,
    referenceName: 'ssh -V',
    unit: 'ms',
    higherIsBetter: false,
  });
  const admin = loadAdminIdentity(c.dataDir);
  const { token } = await new ApiClient(admin.servers, admin.tls).post(CreatedTokenSchema, '/v1/tokens', {
    roles: ['node'],
    ttlMs: 600_000,
  });
  const agent = Bun.spawn(
    [x64, 'agent', 'start', '--proxy', c.proxy, '--token', token, '--name', 'idle-binary-agent'].concat([
      '--data-dir',
      join(c.dir, 'idle-binary-agent'),
    ]),
    { stdout: 'ignore', stderr: 'ignore' },
  );
  await Bun.sleep(8000); // the figure is defined 8 s after start
  const rss = rssMiB(agent.pid);
  agent.kill('SIGTERM');
  await agent.exited;
  rows.push({
    figure: 'agent idle RSS, compiled binary (tunnel mode, 8 s)',
    tp: rss,
    unit: 'MiB',
    higherIsBetter: false,
  });
  return rows;
}
