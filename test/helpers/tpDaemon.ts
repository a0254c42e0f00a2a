import { join } from 'node:path';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** A long-running `tp` server process (tp start, tp agent start, ...) started the way a user runs it. */
export interface TpDaemon {
  child: ReturnType<typeof Bun.spawn>;
  /** Everything it printed on stdout up to the start marker. */
  banner: string;
  /** Everything it printed on stderr so far (its log). */
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number>;
}

/** Spawns `tp ...args` (`cmd`: another tp than the checkout's) and resolves once `marker` appears on its stdout; rejects (with stderr) if it exits first. */
export async function startTpDaemon(
  args: string[],
  marker: RegExp,
  opts: { env?: Record<string, string>; ms?: number; cmd?: string[] } = {},
): Promise<TpDaemon> {
  const child = Bun.spawn([...(opts.cmd ?? [process.execPath, entry]), ...args], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, TP_LOG_FORMAT: 'json', ...opts.env },
  });
  let stderr = '';
  void (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) stderr += dec.decode(c, { stream: true });
  })();
  const reader = child.stdout.getReader();
  let banner = '';
  const deadline = Date.now() + (opts.ms ?? 30_000);
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.ms ?? 30_000).unref());
  while (!marker.test(banner)) {
    const next = await Promise.race([reader.read(), timeout]);
    if (next === 'timeout' || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tp ${args.join(' ')}: no ${marker} within the time limit: ${banner}\n${stderr}`);
    }
    if (next.done) {
      await child.exited;
      throw new Error(`tp ${args.join(' ')} exited ${child.exitCode}: ${banner}\n${stderr}`);
    }
    banner += new TextDecoder().decode(next.value);
  }
  // Keep draining stdout so a chatty daemon never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return {
    child,
    banner,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return child.exited;
    },
  };
}
