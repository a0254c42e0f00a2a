import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { privateDir } from '../config/privateDir.ts';
import { Conflict } from '../errors.ts';
import { log } from '../log.ts';

/** What a lock file holds: who took it, and when that process started (to tell a reused pid apart). */
interface Holder {
  pid: number;
  /** `<boot id>:<start ticks>` on Linux; absent where /proc is not available. */
  started?: string;
  service: string;
}

/** A held lock on one service's use of a data dir; `release` removes the file if it is still ours. */
export interface DataDirLock {
  path: string;
  release(): void;
}

/** A lock file this young with no holder written yet belongs to a process that is taking it right now. */
const STARTING_MS = 5000;

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** When process `pid` started, as an ID stable for its lifetime; undefined where /proc cannot tell. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the fields after the ")" closing the command name start at field 3.
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}:${ticks}`;
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ESRCH') return undefined;
    throw err;
  }
}

/** Whether the process that wrote `h` still runs (a live pid that started at another time is someone else). */
function stillHolds(h: Holder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if (errCode(err) !== 'EPERM') return false;
  }
  const now = processStart(h.pid);
  return !h.started || !now || now === h.started;
}

function readHolder(path: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Takes `<dir>/<service>.lock` for this process, or throws Conflict naming the pid that holds it. A lock left by a
 * process that is gone (killed, crashed, or a reused pid that started later) is taken over with a warning.
 */
export function lockDataDir(dir: string, service: string, clock: Clock): DataDirLock {
  privateDir(dir, 'data dir');
  const path = join(dir, `${service}.lock`);
  const me: Holder = { pid: process.pid, started: processStart(process.pid), service };
  const release = () => {
    const h = readHolder(path);
    if (h?.pid === me.pid && h.started === me.started) unlinkSync(path);
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      return { path, release };
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    if (holder && stillHolds(holder))
      throw new Conflict(
        `data dir ${dir} is in use by pid ${holder.pid} (${holder.service}); stop that process first, or give another --data-dir`,
        { dataDir: dir, pid: holder.pid },
      );
    if (!holder && clock.now() - statSync(path).mtimeMs < STARTING_MS)
      throw new Conflict(`data dir ${dir} is being taken by another tp process that is starting; try again`, {
        dataDir: dir,
      });
    log.warn('taking over a data dir lock left by a process that is gone', { path, pid: holder?.pid });
    rmSync(path, { force: true });
  }
  throw new Conflict(`data dir ${dir}: could not take ${path}; another tp process keeps taking it`, { dataDir: dir });
}
