import { sshToNode } from './nodeConnection.ts';
import type { Profile } from './profile.ts';

/** What `tp bench ssh` runs. */
export interface SshBenchOptions {
  profile: Profile;
  node: string;
  login: string;
  /** Exec this command; with `interactive`, a PTY shell runs it and exits instead. */
  command: string;
  interactive?: boolean;
  /** Sessions started per second (open loop: starts do not wait for earlier sessions). */
  rate: number;
  durationMs: number;
  /** Never more than this many sessions in flight (protects the machine). Default 500. */
  maxInFlight?: number;
}

/** Latency percentiles (ms) and counts of one run. */
export interface SshBenchResult {
  rate: number;
  durationMs: number;
  started: number;
  ok: number;
  errors: number;
  skipped: number;
  firstError?: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : 0;

async function oneSession(o: SshBenchOptions): Promise<void> {
  const { client } = await sshToNode(o.profile, o.node, o.login, { keepaliveMs: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (err: Error | undefined, ch: import('ssh2').ClientChannel) => {
        if (err) return reject(err);
        let code = -1;
        ch.on('exit', (c: number) => {
          code = c;
        });
        ch.on('data', () => undefined);
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => (code === 0 ? resolve() : reject(new Error(`remote command exited ${code}`))));
        if (o.interactive) ch.end(`${o.command}; exit\n`);
      };
      if (o.interactive) client.shell({ term: 'xterm', cols: 80, rows: 24, width: 0, height: 0 }, done);
      else client.exec(o.command, done);
    });
  } finally {
    client.end();
  }
}

/**
 * Starts sessions through the proxy at a fixed rate for a fixed time and measures each from connect to the
 * remote command's exit. Bounded in count (rate × duration) and in sessions in flight.
 */
export async function runSshBench(o: SshBenchOptions): Promise<SshBenchResult> {
  const latencies: number[] = [];
  let errors = 0;
  let skipped = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const interval = 1000 / o.rate;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    if (inFlight >= (o.maxInFlight ?? 500)) {
      skipped++;
      continue;
    }
    inFlight++;
    const start = performance.now();
    running.push(
      oneSession(o)
        .then(() => {
          latencies.push(performance.now() - start);
        })
        .catch((err: unknown) => {
          errors++;
          firstError ??= (err as Error).message;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(running);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rate: o.rate,
    durationMs: o.durationMs,
    started: total - skipped,
    ok: sorted.length,
    errors,
    skipped,
    firstError,
    p50: pct(sorted, 50),
    p90: pct(sorted, 90),
    p99: pct(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}
