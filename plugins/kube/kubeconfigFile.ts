// Reading and rewriting the user's kubeconfig file safely: the file kubectl would write (first path of $KUBECONFIG,
// else ~/.kube/config), changed under kubectl's own lock file (`<file>.lock`, as client-go takes it), written whole to a
// temporary file and renamed over it, mode 0600 (it names credentials).
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { lockFile } from './fileLock.ts';

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The kubeconfig file tp edits: the first path of KUBECONFIG when set, else `<home>/.kube/config`. */
export function kubeconfigPath(env: Record<string, string | undefined> = process.env, home = homedir()): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '');
  return first ?? join(home, '.kube', 'config');
}

/** The file behind `path` (a symlinked kubeconfig is edited where it lies, the link kept). */
function target(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return path;
    throw err;
  }
}

/** The text of the kubeconfig at `path`, '' when there is none. */
export function readKubeconfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return '';
    throw err;
  }
}

/**
 * Rewrites the kubeconfig at `path` with `edit(text)` under its lock: a reader sees the old file or the new one,
 * never half of one, and the new one is mode 0600. `edit` returning undefined leaves the file untouched.
 */
export async function editKubeconfig(
  path: string,
  edit: (text: string) => string | undefined,
  now: () => number = Date.now,
): Promise<void> {
  const file = target(path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const release = await lockFile(`${file}.lock`, `kubeconfig ${path}`, { waitMs: 10_000, now });
  try {
    const next = edit(readKubeconfig(file));
    if (next === undefined) return;
    const tmp = `${file}.tp-${process.pid}.tmp`;
    try {
      rmSync(tmp, { force: true });
      // O_EXCL: a file (or a planted symlink) appearing at the temporary name in between is refused, not followed.
      writeFileSync(tmp, next, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    release();
  }
}
