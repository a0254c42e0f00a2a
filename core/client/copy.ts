import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { BadParameter, NotFound } from '../errors.ts';

type Attrs = { mode: number };
const isDir = (a: Attrs) => (a.mode & 0o170000) === 0o040000;

const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function remoteStat(sftp: SFTPWrapper, path: string): Promise<Attrs | undefined> {
  try {
    return await p<Attrs>((cb) => sftp.stat(path, cb as never));
  } catch (err) {
    if ((err as { code?: number }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
    throw err;
  }
}

/** Copies local files or trees to a remote path over SFTP (like scp: into the path when it is a directory). */
export async function upload(sftp: SFTPWrapper, sources: string[], dest: string, recursive: boolean): Promise<number> {
  let files = 0;
  const destAttrs = await remoteStat(sftp, dest);
  const put = async (src: string, target: string) => {
    const st = statSync(src);
    if (st.isDirectory()) {
      if (!recursive) throw new BadParameter(`${src} is a directory (use -r)`);
      if (!(await remoteStat(sftp, target)))
        await p<void>((cb) => sftp.mkdir(target, { mode: st.mode & 0o777 }, cb as never));
      for (const name of readdirSync(src)) await put(join(src, name), posix.join(target, name));
      return;
    }
    await p<void>((cb) => sftp.fastPut(src, target, { mode: st.mode & 0o777 }, cb as never));
    files++;
  };
  for (const src of sources) {
    const target = destAttrs && isDir(destAttrs) ? posix.join(dest, basename(src)) : dest;
    await put(src, target);
  }
  return files;
}

/** Copies a remote file or tree to a local path (into it when it is a directory). */
export async function download(sftp: SFTPWrapper, source: string, dest: string, recursive: boolean): Promise<number> {
  let files = 0;
  const get = async (src: string, target: string) => {
    const attrs = await remoteStat(sftp, src);
    if (!attrs) throw new NotFound(`remote ${src}: no such file or directory`);
    if (isDir(attrs)) {
      if (!recursive) throw new BadParameter(`remote ${src} is a directory (use -r)`);
      mkdirSync(target, { recursive: true, mode: attrs.mode & 0o777 });
      const list = await p<{ filename: string }[]>((cb) => sftp.readdir(src, cb as never));
      for (const e of list) await get(posix.join(src, e.filename), join(target, e.filename));
      return;
    }
    await p<void>((cb) => sftp.fastGet(src, target, cb as never));
    files++;
  };
  let target = dest;
  try {
    if (statSync(dest).isDirectory()) target = join(dest, posix.basename(source));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await get(source, target);
  return files;
}
