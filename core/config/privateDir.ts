import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AccessDenied, describe } from '../errors.ts';
import { log } from '../log.ts';

// Data dirs hold CA private keys (backend.sqlite), audit logs, host identities and recordings. A directory that
// already existed with 0755 (systemd's StateDirectory default, a package's mkdir) let any local user read them.

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** From now on this process creates files 0600 and directories 0700 (servers and agents: tp start, * start). */
export function privateUmask(): void {
  process.umask(0o077);
}

/**
 * Makes `dir` (and any missing parent) a directory only its owner may enter: created 0700, or tightened to 0700
 * with a warning when group or others had access. Throws AccessDenied naming the fix when it cannot be tightened.
 */
export function privateDir(dir: string, what: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new AccessDenied(
      `the ${what} ${dir} is open to other users (mode ${octal(mode)}) and cannot be made private ` +
        `(${describe(err)}): run \`chmod 700 ${dir}\` as its owner, or use another data dir`,
      { dir },
      { cause: err },
    );
  }
  log.warn(`the ${what} was open to other users: made it private`, { dir, was: octal(mode), now: '0700' });
}

/**
 * Makes the directory a file will live in, 0700, when it does not exist yet; an existing one is left as it is (it may
 * be a shared directory such as /tmp, whose mode is not ours to change). The file itself is made 0600 by its writer.
 */
export function parentDirFor(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Makes each existing file of `paths` readable and writable by its owner only (0600). */
export function privateFiles(paths: string[]): void {
  for (const p of paths) if (existsSync(p) && (statSync(p).mode & 0o077) !== 0) chmodSync(p, 0o600);
}

/** A SQLite database file with the -wal and -shm files WAL mode keeps beside it. */
export function sqliteFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}
