import { join } from 'node:path';
import { spawn } from 'bun-pty';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** A shell script run at a real pseudo-terminal, typed into as a person would. */
export interface PtySession {
  /** Everything the terminal showed so far. */
  readonly output: () => string;
  /** Waits until the output (from `from` on) matches `re`; throws with the output after `ms`. */
  expect(re: RegExp, ms?: number, from?: number): Promise<RegExpExecArray>;
  /** Types text (use "\r" for Enter, "\u0003" for Ctrl+C). */
  type(text: string): void;
  /** Resolves with the exit code of the script once it ends (throws after `ms`). */
  exited(ms?: number): Promise<number>;
  kill(): void;
}

/** The shell word that runs the real `tp` CLI (as `tp` at a shell would). */
export const tpCommand = `'${process.execPath}' '${entry}'`;

/** Runs `script` with /bin/sh at a fresh 120x40 pseudo-terminal with these environment additions. */
export function ptyRun(script: string, env: Record<string, string> = {}): PtySession {
  const term = spawn('/bin/sh', ['-c', script], {
    name: 'xterm',
    cols: 120,
    rows: 40,
    env: { ...(process.env as Record<string, string>), TERM: 'xterm', NO_COLOR: '1', ...env },
  });
  let out = '';
  let code: number | undefined;
  term.onData((d) => {
    out += d;
  });
  term.onExit((e) => {
    code = e.exitCode;
  });
  const poll = async <T>(what: string, ms: number, get: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the terminal showed:\n${out}`);
      await Bun.sleep(20);
    }
  };
  return {
    output: () => out,
    expect: (re, ms = 15_000, from = 0) => poll(String(re), ms, () => re.exec(out.slice(from)) ?? undefined),
    type: (text) => term.write(text),
    exited: (ms = 15_000) => poll('the script to end', ms, () => code),
    kill: () => {
      if (code === undefined) term.kill();
    },
  };
}
