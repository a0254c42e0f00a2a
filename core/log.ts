import { createConsola } from 'consola';

/** Fields attached to a log line. Never put secrets (keys, passwords, tokens) here. */
export type LogFields = Record<string, unknown>;

const json = process.env.TP_LOG_FORMAT === 'json' || (!process.stderr.isTTY && process.env.TP_LOG_FORMAT !== 'text');
const level = process.env.TP_DEBUG ? 4 : process.env.NODE_ENV === 'test' ? 1 : 3;
const pretty = createConsola({ level, stdout: process.stderr, stderr: process.stderr });

function emit(lvl: 'debug' | 'info' | 'warn' | 'error', rank: number, msg: string, fields: LogFields = {}): void {
  if (rank > level) return;
  if (json) {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
  } else {
    const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    pretty[lvl](msg + extra);
  }
}

/** The process logger: JSON lines on servers (non-TTY stderr), pretty on terminals (DESIGN.md). */
export const log = {
  debug: (msg: string, fields?: LogFields) => emit('debug', 4, msg, fields),
  info: (msg: string, fields?: LogFields) => emit('info', 3, msg, fields),
  warn: (msg: string, fields?: LogFields) => emit('warn', 1, msg, fields),
  error: (msg: string, fields?: LogFields) => emit('error', 0, msg, fields),
};
