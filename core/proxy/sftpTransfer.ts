import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { AccessDenied, BadParameter, NotFound, TpError, Unavailable } from '../errors.ts';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, section 7) a user can act on. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
/** Writes in flight at once: enough to keep the channel busy, few enough that memory stays bounded. */
const WRITES_IN_FLIGHT = 16;

type SftpError = Error & { code?: number };

/** Where a transfer happens, for the words of its errors. */
export interface TransferSite {
  node: string;
  login: string;
}

/** An SFTP failure in a user's words: no such file, permission denied (naming the login), or the server's message. */
export function sftpError(err: unknown, path: string, site: TransferSite): TpError {
  if (err instanceof TpError) return err;
  const e = err as SftpError;
  if (e.code === NO_SUCH_FILE) return new NotFound(`no such file or directory on ${site.node}: ${path}`);
  if (e.code === PERMISSION_DENIED)
    return new AccessDenied(`permission denied on ${site.node}: ${site.login} may not use ${path}`);
  return new Unavailable(`SFTP on ${site.node} failed for ${path}: ${e.message ?? String(err)}`);
}

const call = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

/** Opens the SFTP subsystem on a connected client. */
export function openSftp(client: Client): Promise<SFTPWrapper> {
  return call<SFTPWrapper>((cb) => client.sftp(cb));
}

/**
 * A remote path as the user typed it, for the SFTP server (whose working directory is the login's home): `~` and
 * `~/x` are the home and under it, as with scp; anything else is the user's to choose, absolute or relative.
 */
export function remotePath(typed: string): string {
  const t = typed.trim();
  if (t.includes('\0')) throw new BadParameter('a path cannot contain a NUL byte');
  if (t === '' || t === '~' || t === '~/') return '.';
  return t.startsWith('~/') ? t.slice(2) : t;
}

/** The absolute form of a remote path (the server resolves `.` and relative paths against the home). */
export function realpath(sftp: SFTPWrapper, path: string): Promise<string> {
  return call<string>((cb) => sftp.realpath(path, cb));
}

/** The attributes of a remote path (following links). */
export function stat(sftp: SFTPWrapper, path: string): Promise<Stats> {
  return call<Stats>((cb) => sftp.stat(path, cb));
}

/** Bytes written by an upload so far, and the remote file it goes to. */
export interface UploadResult {
  path: string;
  bytes: number;
}

/**
 * Streams `body` into `dir/name` on the node: into a temporary file beside it, renamed over the target only once
 * every byte is written, so an interrupted upload leaves the old file (or none) and no half of the new one. Memory
 * stays bounded by the writes in flight; `expected` bytes must arrive, no more and no fewer.
 */
export async function uploadFile(
  sftp: SFTPWrapper,
  o: {
    dir: string;
    name: string;
    body: Readable;
    /** The connection `body` arrives on, paused while the body's buffer is full (see pump). */
    socket?: Pausable;
    expected: number;
    tempId: string;
    idleMs: number;
  },
): Promise<UploadResult> {
  const path = posix.join(o.dir, o.name);
  const temp = posix.join(o.dir, `.${o.name}.tp-upload-${o.tempId}`);
  const handle = await call<Buffer>((cb) => sftp.open(temp, 'wx', { mode: 0o644 }, cb));
  let bytes = 0;
  let inFlight = 0;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const settled = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const sink = new Writable({
    highWaterMark: 1 << 16,
    write(chunk: Buffer, _enc, done) {
      if (failed) return done(failed);
      if (bytes + chunk.length > o.expected)
        return done(new BadParameter(`more than the ${o.expected} bytes announced`));
      const at = bytes;
      bytes += chunk.length;
      inFlight++;
      sftp.write(handle, chunk, 0, chunk.length, at, (err) => {
        inFlight--;
        if (err) failed ??= err;
        settled();
      });
      if (inFlight < WRITES_IN_FLIGHT) return done();
      wake = () => done(failed);
    },
    final(done) {
      const drain = () => {
        if (inFlight === 0) return done(failed);
        wake = drain;
      };
      drain();
    },
  });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const stalled = () => o.body.destroy(new Unavailable(`the upload stalled: no data for ${o.idleMs / 1000} s`));
  const watch = () => {
    clearTimeout(idle);
    idle = setTimeout(stalled, o.idleMs);
  };
  o.body.on('data', watch);
  watch();
  try {
    await pump(o.body, sink, o.socket);
    clearTimeout(idle);
    if (bytes !== o.expected) throw new BadParameter(`the upload ended after ${bytes} of ${o.expected} bytes`);
    await call<void>((cb) => sftp.close(handle, cb as never));
    await rename(sftp, temp, path);
    return { path, bytes };
  } catch (err) {
    clearTimeout(idle);
    await call<void>((cb) => sftp.close(handle, cb as never)).catch(() => undefined);
    await call<void>((cb) => sftp.unlink(temp, cb as never)).catch(() => undefined);
    throw err;
  }
}

/** What a connection offers to stop and restart reading. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** Buffered in the request body before its connection stops reading. */
const BODY_HIGH_WATER = 1 << 20;

/**
 * Pipes `from` into `to`, settling once `to` has finished (or either side failed). Bun's node:http keeps reading
 * a request's connection into the body's buffer however full it is (seen: 40 MB of a 50 MB upload held there),
 * so `socket` (paused by the caller) is resumed while that buffer is below a high-water mark and paused above it.
 */
function pump(from: Readable, to: Writable, socket?: Pausable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The caller paused it when the request came in (see webFiles), so nothing piles up while the node is dialled.
    let paused = socket !== undefined;
    const check = () => {
      if (!socket) return;
      const full = from.readableLength > BODY_HIGH_WATER;
      if (full && !paused) socket.pause();
      if (!full && paused) socket.resume();
      paused = full;
    };
    const timer = socket ? setInterval(check, 10) : undefined;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      if (paused) socket?.resume();
      if (err) {
        from.unpipe(to);
        to.destroy();
        reject(err);
      } else resolve();
    };
    from.on('data', check);
    check();
    from.once('error', settle);
    const gone = () => settle(new Unavailable('the browser stopped sending the file'));
    from.once('aborted', gone);
    // Bun's node:http may only close a request whose client went away, without 'aborted' or an error.
    from.once('close', () => {
      if (!from.readableEnded) gone();
    });
    to.once('error', settle);
    to.once('finish', () => settle());
    from.pipe(to);
  });
}

/** Moves `from` over `to`, replacing it (OpenSSH's posix-rename; plain SFTP rename where the server lacks it). */
async function rename(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    await call<void>((cb) => sftp.ext_openssh_rename(from, to, cb as never));
  } catch (err) {
    if (!/not supported/i.test((err as Error).message)) throw err;
    await call<void>((cb) => sftp.rename(from, to, cb as never));
  }
}

/** A remote regular file, opened for reading: its size and a stream of its bytes. */
export interface Download {
  path: string;
  size: number;
  body: Readable;
}

/** Opens a remote regular file for streaming (a directory or a device is refused with a clear message). */
export async function downloadFile(sftp: SFTPWrapper, path: string, site: TransferSite): Promise<Download> {
  const abs = await realpath(sftp, path);
  const st = await stat(sftp, abs);
  if (st.isDirectory()) throw new BadParameter(`${abs} on ${site.node} is a directory; download one file at a time`);
  if (!st.isFile()) throw new BadParameter(`${abs} on ${site.node} is not a regular file`);
  // The bytes the answer announced and no more, should the file grow while it is read.
  const body =
    st.size === 0
      ? Readable.from([])
      : (sftp.createReadStream(abs, { start: 0, end: st.size - 1, highWaterMark: 1 << 16 }) as unknown as Readable);
  return { path: abs, size: st.size, body };
}
