/** One file operation of an SFTP session, as the audit records it once the server answered. */
export interface SftpOp {
  /** What was asked: `read` / `write` (a file opened for it), `remove`, `mkdir`, `rmdir`, `rename`, `symlink`, `chmod`. */
  action: string;
  path: string;
  /** The second path of a rename or symlink. */
  target?: string;
  success: boolean;
  /** The server's refusal (`permission denied`, `no such file` ...), for failures. */
  error?: string;
}

// SFTP version 3 (draft-ietf-secsh-filexfer-02): packet types this audit reads.
const OPEN = 3;
const SETSTAT = 9;
const REMOVE = 13;
const MKDIR = 14;
const RMDIR = 15;
const RENAME = 18;
const SYMLINK = 20;
const EXTENDED = 200;
const STATUS = 101;
const HANDLE = 102;
/** pflags of OPEN that change the file: write, append, create, truncate. */
const CHANGES = 0x02 | 0x04 | 0x08 | 0x10;
/** Longest request or answer this audit reads whole (paths are short; file data is skipped, never buffered). */
const MAX_READ = 64 * 1024;
/** Requests awaiting their answer that the audit remembers; a client that never reads answers cannot grow this. */
const MAX_PENDING = 1024;

const STATUS_TEXT: Record<number, string> = {
  1: 'end of file',
  2: 'no such file',
  3: 'permission denied',
  4: 'failure',
  5: 'bad message',
  8: 'operation unsupported',
};

/** SFTP packets out of a byte stream: those `wanted` whole (up to MAX_READ), every other one skipped unread. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;

  constructor(
    private readonly wanted: (type: number) => boolean,
    private readonly onPacket: (type: number, body: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let c = chunk;
    if (this.skip) {
      const n = Math.min(this.skip, c.length);
      this.skip -= n;
      c = c.subarray(n);
    }
    if (!c.length) return;
    let buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(0);
      const type = buf[4]!;
      if (!this.wanted(type) || len > MAX_READ) {
        if (buf.length - 4 >= len) {
          buf = buf.subarray(4 + len);
          continue;
        }
        this.skip = len - (buf.length - 4);
        buf = Buffer.alloc(0);
        break;
      }
      if (buf.length < 4 + len) break;
      this.onPacket(type, buf.subarray(5, 4 + len));
      buf = buf.subarray(4 + len);
    }
    // What is kept is a partial header or a short wanted packet: copied, so a large chunk is not held by a view.
    this.buf = Buffer.from(buf);
  }
}

/** The string at `at` in an SFTP body and the offset after it; undefined when the body is too short. */
function str(b: Buffer, at: number): [string, number] | undefined {
  if (at + 4 > b.length) return undefined;
  const n = b.readUInt32BE(at);
  if (at + 4 + n > b.length) return undefined;
  return [b.toString('utf8', at + 4, at + 4 + n), at + 4 + n];
}

/** The operation a request asks for, or undefined for one this audit does not record. */
function requestOf(type: number, b: Buffer): Omit<SftpOp, 'success' | 'error'> | undefined {
  const first = str(b, 4);
  if (!first) return undefined;
  const [path, next] = first;
  switch (type) {
    case OPEN: {
      if (next + 4 > b.length) return undefined;
      return { action: b.readUInt32BE(next) & CHANGES ? 'write' : 'read', path };
    }
    case SETSTAT:
      return { action: 'chmod', path };
    case REMOVE:
      return { action: 'remove', path };
    case MKDIR:
      return { action: 'mkdir', path };
    case RMDIR:
      return { action: 'rmdir', path };
    case RENAME:
      return { action: 'rename', path, target: str(b, next)?.[0] };
    case SYMLINK:
      return { action: 'symlink', path, target: str(b, next)?.[0] };
    case EXTENDED: {
      // OpenSSH's posix-rename@openssh.com (a rename that replaces the target): name, old path, new path.
      if (path !== 'posix-rename@openssh.com') return undefined;
      const from = str(b, next);
      return from ? { action: 'rename', path: from[0], target: str(b, from[1])?.[0] } : undefined;
    }
    default:
      return undefined;
  }
}

const REQUESTS = new Set([OPEN, SETSTAT, REMOVE, MKDIR, RMDIR, RENAME, SYMLINK, EXTENDED]);

/**
 * Watches both directions of an SFTP session (client requests, server answers) without changing a byte, and
 * reports each file operation that changes or reads a file once the server answered it: `record` gets the path,
 * what was asked, and whether the server allowed it. File contents are skipped, never buffered.
 */
export function sftpAudit(record: (op: SftpOp) => void): { request(chunk: Buffer): void; answer(chunk: Buffer): void } {
  const pending = new Map<number, Omit<SftpOp, 'success' | 'error'>>();
  const requests = new Framer(
    (t) => REQUESTS.has(t),
    (type, body) => {
      if (body.length < 4) return;
      const op = requestOf(type, body);
      if (!op) return;
      if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
      pending.set(body.readUInt32BE(0), op);
    },
  );
  const answers = new Framer(
    (t) => t === STATUS || t === HANDLE,
    (type, body) => {
      if (body.length < 4) return;
      const id = body.readUInt32BE(0);
      const op = pending.get(id);
      if (!op) return;
      pending.delete(id);
      const code = type === STATUS && body.length >= 8 ? body.readUInt32BE(4) : 0;
      record(
        code === 0 ? { ...op, success: true } : { ...op, success: false, error: STATUS_TEXT[code] ?? `status ${code}` },
      );
    },
  );
  return { request: (c) => requests.push(c), answer: (c) => answers.push(c) };
}
