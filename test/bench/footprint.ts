// Idle agent memory: `tp agent start` in tunnel mode (restarted with its saved identity) under bun and (when
// `just dist` built it) as the compiled binary, sampled 8 s after start, again after a growth check (60 s; BENCH_FOOTPRINT_LONG=1: 10 minutes), and after one
// `tp ssh` session has ended. VmRSS counts two kinds of page: the agent's own (RssAnon: heap, JIT code, stacks) and
// mapped files' (RssFile: the Bun runtime's code and read-only data, which the agent gives back when idle unless
// `ssh.reclaim_idle: false`; they are clean pages of a file, shared with any other process that maps it).
// Measured here (x64, Bun 1.4.5, VmRSS = own + code pages, MiB; 2026-12-02, with a reclaim pass a minute while idle):
//                    8 s                 10 min              10 s after a tp ssh
//   bun              24.3 = 10.8 + 13.4  31.1 = 10.7 + 20.4  37.6 = 17.3 + 20.3
//   compiled binary  27.6 =  9.4 + 18.2  34.0 =  9.3 + 24.8  42.5 = 14.8 + 27.7
//   (one pass only, after start and sessions: 10 min bun 37.3 = 11.1 + 26.2, compiled 38.4 = 9.3 + 29.2)
//   (reclaim_idle: false, bun: 54.1 = 12.1 + 42.0 at 8 s, 54.2 at 60 s)
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { CreatedTokenSchema } from '../../core/api/schemas.ts';
import { type BenchCluster, entry, me, rssMiB, rssSplitMiB, runOk } from './cluster.ts';
import { median } from './ssh.ts';
import type { Row } from './table.ts';

/**
 * Seconds after start of the growth sample: a quick check by default, the 10 minutes on request
 * (BENCH_FOOTPRINT_LONG=1), or any age in seconds (BENCH_FOOTPRINT_S=180, where the working set has settled).
 */
const growthS = Number(process.env.BENCH_FOOTPRINT_S) || (process.env.BENCH_FOOTPRINT_LONG ? 600 : 60);
/** BENCH_FOOTPRINT_RECLAIM=false measures the agent with ssh.reclaim_idle off (the figure before reclaiming). */
const reclaim = process.env.BENCH_FOOTPRINT_RECLAIM !== 'false';

interface Sample {
  rss: number;
  anon: number;
  file: number;
}

function sample(pid: number): Sample {
  return { rss: rssMiB(pid), ...rssSplitMiB(pid) };
}

/**
 * An agent as a device runs it: joined once with a fresh token (that first run waits for its "running" line and is
 * stopped), then started again from its saved identity, the start that is measured. Its own tp.yaml carries
 * ssh.reclaim_idle as asked.
 */
async function spawnAgent(c: BenchCluster, cmd: string[], name: string) {
  const admin = loadAdminIdentity(c.dataDir);
  const api = new ApiClient(admin.servers, admin.tls);
  const { token } = await api.post(CreatedTokenSchema, '/v1/tokens', { roles: ['node'], ttlMs: 600_000 });
  const dir = join(c.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tp.yaml'), `ssh:\n  name: ${name}\n  reclaim_idle: ${reclaim}\n`);
  const args = [
    'agent',
    'start',
    '--proxy',
    c.proxy,
    '--config',
    join(dir, 'tp.yaml'),
    '--data-dir',
    join(dir, 'data'),
  ];
  const join1 = Bun.spawn([...cmd, ...args, '--token', token], { stdout: 'pipe', stderr: 'ignore' });
  let out = '';
  for await (const chunk of join1.stdout) {
    out += new TextDecoder().decode(chunk);
    if (out.includes(' running ')) break;
  }
  join1.kill('SIGTERM');
  if ((await join1.exited) !== 0 && !out.includes(' running ')) throw new Error(`agent ${name} did not join: ${out}`);
  return Bun.spawn([...cmd, ...args], { stdout: 'ignore', stderr: 'ignore' });
}

/** Waits until `s` seconds after `t0` (the samples are taken at fixed ages, not after fixed sleeps). */
async function until(t0: number, s: number): Promise<void> {
  const wait = t0 + s * 1000 - performance.now();
  if (wait > 0) await Bun.sleep(wait);
}

/** The samples of one agent: 8 s, the growth check, and 10 s after one `tp ssh` session. */
async function measure(c: BenchCluster, cmd: string[], name: string) {
  const agent = await spawnAgent(c, cmd, name);
  const t0 = performance.now();
  try {
    await until(t0, 8);
    const start = sample(agent.pid);
    await until(t0, growthS);
    const later = sample(agent.pid);
    await runOk([process.execPath, entry, 'ssh', `${me}@${name}`, 'true'], c.home);
    const t1 = performance.now();
    await until(t1, 10);
    return { start, later, afterSession: sample(agent.pid) };
  } finally {
    agent.kill('SIGTERM');
    await agent.exited;
  }
}

const split = (s: Sample) => `${s.anon.toFixed(1)} MiB own (anon) + ${s.file.toFixed(1)} MiB code pages (file)`;

/** Idle agent memory (bun and the compiled binary, side by side) and CLI cold start, beside `ssh -V`. */
export async function benchFootprint(c: BenchCluster): Promise<Row[]> {
  const binary = join(import.meta.dir, '..', '..', 'dist', 'tp-linux-x64');
  // A device runs one Bun process, the agent; here the bench and the cluster run on the same executable, and the
  // kernel leaves pages mapped by several processes alone. The agent's own copy of Bun measures the device's case.
  const runtime = join(c.dir, 'bun');
  copyFileSync(process.execPath, runtime);
  const runs = [{ how: 'bun', cmd: [runtime, entry] }];
  if (existsSync(binary)) runs.push({ how: 'compiled binary', cmd: [binary] });
  const results = await Promise.all(runs.map((r) => measure(c, r.cmd, `idle-${r.how.replace(/\W+/g, '-')}`)));
  const rows: Row[] = [];
  const at = growthS >= 120 ? `${growthS / 60} min` : `${growthS} s`;
  for (const [i, r] of runs.entries()) {
    const m = results[i]!;
    const row = (when: string, s: Sample) =>
      rows.push({
        figure: `agent idle RSS, ${r.how}, ${when}: ${split(s)}`,
        tp: s.rss,
        unit: 'MiB',
        higherIsBetter: false,
      });
    row('tunnel mode, 8 s after start', m.start);
    row(`${at} after start`, m.later);
    row('10 s after a `tp ssh` session', m.afterSession);
  }
  const tpVersion = await median(9, () => runOk([process.execPath, entry, 'version']));
  const sshV = await median(9, () => runOk(['ssh', '-V']));
  return [
    ...rows,
    {
      figure: '`tp version` cold start',
      tp: tpVersion,
      reference: sshV,
      referenceName: 'ssh -V',
      unit: 'ms',
      higherIsBetter: false,
    },
  ];
}
