// A lock file shared by processes on one machine: created with O_EXCL, holding the taker's pid, so a lock left by a
// process that died is taken over instead of blocking every later run.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { Conflict } from '../../core/errors.ts';

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** A lock file this young with no pid in it yet belongs to a process that is writing it right now. */
const WRITING_MS = 5_000;

/** Whether the lock at `file` was left by a process that is gone (or by nobody, for longer than WRITING_MS). */
function abandoned(file: string, now: number): boolean {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(file, 'utf8');
    mtime = statSync(file).mtimeMs;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return false;
    throw err;
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return now - mtime > WRITING_MS;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return errCode(err) === 'ESRCH';
  }
}

/**
 * Takes the lock file `file` for this process, waiting up to `waitMs` while another live process holds it; returns
 * the function that releases it. Throws Conflict naming `what` when the wait runs out.
 */
export async function lockFile(
  file: string,
  what: string,
  opts: { waitMs: number; now: () => number; pollMs?: number },
): Promise<() => void> {
  const deadline = opts.now() + opts.waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => rmSync(file, { force: true });
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    if (abandoned(file, opts.now())) rmSync(file, { force: true });
    else if (opts.now() > deadline)
      throw new Conflict(`${what} is locked by another process (${file}); try again, or remove the lock`, { file });
    else await Bun.sleep(opts.pollMs ?? 25);
  }
}
