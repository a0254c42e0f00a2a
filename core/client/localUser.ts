import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/**
 * The local OS user name (the default SSH login). Bun's os.userInfo() reports "unknown" on some systems, so
 * the passwd entry for our uid is read first, then USER/LOGNAME.
 */
export function localUsername(): string {
  const uid = process.getuid?.();
  if (uid !== undefined) {
    try {
      const line = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.split(':')[2] === String(uid));
      if (line) return line.split(':')[0]!;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const fromEnv = process.env.USER ?? process.env.LOGNAME;
  if (fromEnv) return fromEnv;
  return userInfo().username;
}
