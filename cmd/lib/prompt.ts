import { Cancelled, Unauthenticated } from '../../core/errors.ts';

/** True when we can ask the person at the terminal. */
export function interactive(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACES = new Set(['\u007f', '\b']);

/**
 * Asks a question on the terminal and resolves with the answer; `secret` input is not echoed. Ctrl+C (or Ctrl+D on
 * an empty line) rejects with `Cancelled`. The terminal's mode is restored on every way out, and stdin stays usable,
 * so one run can ask several questions (password, then code) and hand stdin on to an SSH session afterwards.
 */
export function ask(question: string, secret = false): Promise<string> {
  if (!interactive())
    return Promise.reject(
      new Unauthenticated(
        `${question.replace(/:\s*$/, '')} is needed, but there is no terminal to ask (use flags or stdin)`,
      ),
    );
  const stdin = process.stdin;
  const out = process.stderr;
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const restore = () => {
      stdin.off('data', onData);
      process.off('exit', restore);
      stdin.setRawMode(false);
      stdin.pause();
    };
    const finish = (err?: Error) => {
      restore();
      out.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const erase = (n: number) => {
      if (!secret && n > 0) out.write('\b \b'.repeat(n));
    };
    function onData(chunk: Buffer | string) {
      const chars = [...chunk.toString()];
      for (const [i, ch] of chars.entries()) {
        if (ch === '\r' || ch === '\n') {
          // Type-ahead after Enter belongs to whoever reads next (the next question, or the SSH session).
          const rest = chars.slice(ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
          finish();
          if (rest) stdin.unshift(Buffer.from(rest));
          return;
        }
        if (ch === CTRL_C || (ch === CTRL_D && answer === '')) return finish(new Cancelled('cancelled'));
        if (ch === CTRL_U) {
          erase([...answer].length);
          answer = '';
        } else if (BACKSPACES.has(ch)) {
          if (answer) {
            erase(1);
            answer = [...answer].slice(0, -1).join('');
          }
        } else if (ch >= ' ') {
          answer += ch;
          if (!secret) out.write(ch);
        }
      }
    }
    // Raw mode before the question shows: keys typed the moment it appears are neither echoed nor taken as signals.
    stdin.setRawMode(true);
    // A process.exit() elsewhere while we wait must not leave the terminal without echo.
    process.on('exit', restore);
    stdin.on('data', onData);
    stdin.resume();
    out.write(question);
  });
}
