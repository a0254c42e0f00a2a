import { Unauthenticated } from '../../core/errors.ts';

/** True when we can ask the person at the terminal. */
export function interactive(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

/** Asks a question on the terminal; `secret` input is not echoed. Throws when there is no terminal to ask. */
export async function ask(question: string, secret = false): Promise<string> {
  if (!interactive())
    throw new Unauthenticated(
      `${question.replace(/:\s*$/, '')} is needed, but there is no terminal to ask (use flags or stdin)`,
    );
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let answer = '';
  try {
    for await (const chunk of stdin) {
      for (const ch of (chunk as Buffer).toString('utf8')) {
        if (ch === '\r' || ch === '\n') return answer;
        if (ch === '\u0003') throw new Unauthenticated('cancelled');
        if (ch === '\u007f' || ch === '\b') {
          if (answer.length) {
            answer = answer.slice(0, -1);
            if (!secret) process.stderr.write('\b \b');
          }
          continue;
        }
        answer += ch;
        if (!secret) process.stderr.write(ch);
      }
    }
    return answer;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
