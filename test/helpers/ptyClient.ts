import { join } from 'node:path';
import { spawn } from 'bun-pty';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** A `tp` command running under a real pseudo-terminal, as at a user's terminal. */
export interface PtyTp {
  /** Everything the terminal showed so far. */
  output(): string;
  /** Types text into the terminal. */
  type(text: string): void;
  /** Waits until the terminal shows a match of `re` (polling); throws with the screen so far after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code; kills the command after `ms`. */
  exited(ms?: number): Promise<number>;
}

/** Runs `tp ...args` on a fresh 80x24 pseudo-terminal with extra environment `env`. */
export function tpOnPty(args: string[], env: Record<string, string>): PtyTp {
  const p = spawn(process.execPath, [entry, ...args], {
    name: 'xterm',
    cols: 80,
    rows: 24,
    env: { ...(process.env as Record<string, string>), TP_LOG_FORMAT: 'json', ...env },
  });
  let out = '';
  let code: number | undefined;
  p.onData((d) => {
    out += d;
  });
  const done = new Promise<number>((resolve) =>
    p.onExit((e) => {
      code = e.exitCode;
      resolve(e.exitCode);
    }),
  );
  return {
    output: () => out,
    type: (text) => p.write(text),
    async waitFor(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (code !== undefined) throw new Error(`tp ${args.join(' ')} exited ${code} before ${re}: ${out}`);
        if (Date.now() > deadline) throw new Error(`no ${re} on the terminal of tp ${args.join(' ')}: ${out}`);
        await Bun.sleep(20);
      }
    },
    async exited(ms = 15_000) {
      const timer = setTimeout(() => p.kill('SIGKILL'), ms);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
