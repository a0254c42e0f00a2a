/** One command of a recorded session: what was typed after the shell prompt, and the event that ended its line. */
export interface Command {
  text: string;
  /** Index of the output event in which the command's line ended (Enter was echoed). */
  event: number;
}

/** A shell prompt's end (`user@host:~$ `, `# `, `% `, `> `) and the command typed after it. */
const PROMPT = /^[^$#%>]*[$#%>] (\S.*)$/;
const ESC = '\x1b';
const BEL = '\x07';

/**
 * The commands of a session, read from its terminal output: each line that starts with a shell prompt and has text
 * after it, once escape sequences, carriage returns and backspaces are applied, in the order they were run.
 */
export function commandsOf(outputs: readonly string[]): Command[] {
  const found: Command[] = [];
  // The line being written and the cursor in it, so that `\r` and backspace overwrite as a terminal does.
  let line: string[] = [];
  let col = 0;
  let state: 'text' | 'esc' | 'csi' | 'osc' | 'oscEsc' = 'text';
  for (const [event, data] of outputs.entries()) {
    for (const ch of data) {
      if (state === 'esc') state = ch === '[' ? 'csi' : ch === ']' ? 'osc' : 'text';
      else if (state === 'csi') {
        if (ch < '@' || ch > '~') continue;
        if (ch === 'K') line.length = Math.min(line.length, col); // erase to the end of the line
        state = 'text';
      } else if (state === 'osc') {
        if (ch === BEL) state = 'text';
        else if (ch === ESC) state = 'oscEsc';
      } else if (state === 'oscEsc') state = 'text';
      else if (ch === ESC) state = 'esc';
      else if (ch === '\n') {
        const m = PROMPT.exec(line.join('').trimEnd());
        if (m) found.push({ text: m[1]!, event });
        line = [];
        col = 0;
      } else if (ch === '\r') col = 0;
      else if (ch === '\b') col = Math.max(0, col - 1);
      else if (ch >= ' ') line[col++] = ch;
    }
  }
  return found;
}

/** The first command containing `query` (any case) after `from` (a command index), wrapping round; -1 if none. */
export function findCommand(commands: readonly Command[], query: string, from = -1): number {
  const q = query.trim().toLowerCase();
  if (!q) return -1;
  for (let k = 1; k <= commands.length; k++) {
    const i = (from + k) % commands.length;
    if (commands[i]!.text.toLowerCase().includes(q)) return i;
  }
  return -1;
}
