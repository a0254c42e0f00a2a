import { jsonSafe, terminalSafe } from './terminalText.ts';

/** Fields attached to a log line. Never put secrets (keys, passwords, tokens) here. */
export type LogFields = Record<string, unknown>;

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { error: 0, warn: 1, info: 3, debug: 4 };
const COLOR: Record<Level, string> = { error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[36m', debug: '\x1b[90m' };

const json = process.env.TP_LOG_FORMAT === 'json' || (!process.stderr.isTTY && process.env.TP_LOG_FORMAT !== 'text');
// Colour only for a person at a terminal who has not asked for none (https://no-color.org).
const colour = !!process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (colour ? `${code}${text}\x1b[0m` : text);
const threshold = process.env.TP_DEBUG ? 4 : process.env.NODE_ENV === 'test' ? 1 : 3;

// consola cost 13 MB of resident memory per process (measured); one line per call needs none of it.
function emit(level: Level, msg: string, fields: LogFields = {}): void {
  if (RANK[level] > threshold) return;
  if (json) {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
    return;
  }
  // Messages and fields quote peers (node names, addresses, errors): no control of theirs reaches the terminal.
  const extra = Object.keys(fields).length ? ` ${paint('\x1b[90m', jsonSafe(JSON.stringify(fields)))}` : '';
  process.stderr.write(`${paint(COLOR[level], level.padEnd(5))} ${terminalSafe(msg)}${extra}\n`);
}

/** The process logger: JSON lines on servers (non-TTY stderr), colored one-liners on terminals (DESIGN.md). */
export const log = {
  debug: (msg: string, fields?: LogFields) => emit('debug', msg, fields),
  info: (msg: string, fields?: LogFields) => emit('info', msg, fields),
  warn: (msg: string, fields?: LogFields) => emit('warn', msg, fields),
  error: (msg: string, fields?: LogFields) => emit('error', msg, fields),
};
