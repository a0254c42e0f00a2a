import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordingMeta } from './store.ts';

/**
 * One recorded output event: milliseconds since the session started, stream, and what was written: the text of
 * stdout ('o') or stderr ('e'), or for a desktop the base64 of the bytes the browser received ('r', the RFB stream).
 */
export type RecordedEvent = [ms: number, stream: 'o' | 'e' | 'r', data: string];

/** Part file name for part `n` (1-based): sorted by name = sorted by number. */
export const partName = (n: number) => `part-${String(n).padStart(6, '0')}.jsonl`;

/** Parses a part (one JSON array per line). */
export function parsePart(text: string): RecordedEvent[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RecordedEvent);
}

// CSI, OSC, and other two-byte escape sequences: what a terminal interprets rather than shows.
const ANSI =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are control characters
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[@-Z\\-_]|\x1b[()#][0-9A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

/** The plain text a person saw: escape sequences and control codes removed, CRLF folded to LF. */
export function plainText(events: RecordedEvent[]): string {
  return events
    .filter((e) => e[1] !== 'r')
    .map((e) => e[2])
    .join('')
    .replace(ANSI, '')
    .replace(/\r+\n/g, '\n')
    .replace(/\r/g, '');
}

export interface WriterOptions {
  /** The node's recording spool directory; this session gets `<dir>/<sessionId>/`. */
  dir: string;
  meta: RecordingMeta;
  /** Cut a part when this many bytes are buffered. Default 64 KiB. */
  partBytes?: number;
  /** Cut a part at least this often while output flows. Default 1 s. */
  flushMs?: number;
  /** Called after each part is safely on disk (the uploader picks it up). */
  onPart: () => void;
  /** Called once if the spool cannot be written (disk full, directory gone). */
  onError?: (err: Error) => void;
  now?: () => number;
}

/**
 * Records one session's output on the node: events with timing, cut into parts written atomically (tmp + rename),
 * with the session's metadata beside them, so a crash loses at most the last unflushed second.
 */
export class RecordingWriter {
  private readonly path: string;
  private buf: string[] = [];
  private bytes = 0;
  private part = 0;
  private readonly start: number;
  private readonly decoders = { o: new TextDecoder(), e: new TextDecoder() };
  private timer: ReturnType<typeof setInterval> | undefined;
  private ended = false;
  /** Set when the spool could not be written; the session goes on, unrecorded from here, and the error is reported. */
  failure: Error | undefined;

  constructor(private readonly o: WriterOptions) {
    this.path = join(o.dir, o.meta.sessionId);
    mkdirSync(this.path, { recursive: true, mode: 0o700 });
    this.start = (o.now ?? Date.now)();
    this.writeMeta({ ...o.meta, status: 'recording', parts: 0, bytes: 0 });
    this.timer = setInterval(() => this.flush(), o.flushMs ?? 1000);
    this.timer.unref?.();
  }

  /** The session's spool directory. */
  get directory(): string {
    return this.path;
  }

  private writeMeta(meta: RecordingMeta): void {
    this.o.meta = meta;
    writeFileSync(join(this.path, 'meta.json.tmp'), JSON.stringify(meta), { mode: 0o600 });
    renameSync(join(this.path, 'meta.json.tmp'), join(this.path, 'meta.json'));
  }

  /** Sets the terminal size in the metadata, when it was not known at the start (written with the next part). */
  setSize(width: number, height: number): void {
    if (this.o.meta.width === undefined) this.o.meta = { ...this.o.meta, width, height };
  }

  /** Records bytes the session printed on stdout ('o') or stderr ('e'). */
  write(data: Uint8Array | string, stream: 'o' | 'e' = 'o'): void {
    if (this.ended) return;
    const text = typeof data === 'string' ? data : this.decoders[stream].decode(data, { stream: true });
    if (!text) return;
    this.push(JSON.stringify([(this.o.now ?? Date.now)() - this.start, stream, text]));
  }

  /** Records bytes a desktop session sent the browser, as one 'r' event (base64: the stream is binary). */
  writeBytes(data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    this.push(JSON.stringify([(this.o.now ?? Date.now)() - this.start, 'r', Buffer.from(data).toString('base64')]));
  }

  private push(line: string): void {
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= (this.o.partBytes ?? 64 * 1024)) this.flush();
  }

  /** Writes buffered events as the next part; a disk error stops the recording (reported once), never the session. */
  flush(): void {
    if (this.buf.length === 0 || this.failure) return;
    try {
      this.writePart();
    } catch (err) {
      this.failure = err as Error;
      this.buf = [];
      if (this.timer) clearInterval(this.timer);
      this.o.onError?.(this.failure);
    }
  }

  private writePart(): void {
    this.part++;
    const name = partName(this.part);
    writeFileSync(join(this.path, `${name}.tmp`), `${this.buf.join('\n')}\n`, { mode: 0o600 });
    renameSync(join(this.path, `${name}.tmp`), join(this.path, name));
    this.writeMeta({ ...this.o.meta, parts: this.part, bytes: this.o.meta.bytes + this.bytes });
    this.buf = [];
    this.bytes = 0;
    this.o.onPart();
  }

  /** Ends the recording: last part, end time and final status. */
  end(status: 'complete' | 'interrupted' = 'complete'): void {
    if (this.ended) return;
    for (const s of ['o', 'e'] as const) {
      const rest = this.decoders[s].decode();
      if (rest) this.write(rest, s);
    }
    this.flush();
    this.ended = true;
    if (this.timer) clearInterval(this.timer);
    if (this.failure) return;
    try {
      this.writeMeta({ ...this.o.meta, status, endedAt: new Date((this.o.now ?? Date.now)()).toISOString() });
    } catch (err) {
      this.failure = err as Error;
      this.o.onError?.(this.failure);
      return;
    }
    this.o.onPart();
  }
}

/** A session found in the spool: its metadata and the parts still on disk (by number). */
export interface SpooledSession {
  dir: string;
  meta: RecordingMeta;
  parts: number[];
}

/** Lists spooled sessions, oldest first. */
export function listSpooled(dir: string): SpooledSession[] {
  if (!existsSync(dir)) return [];
  const out: SpooledSession[] = [];
  for (const sid of readdirSync(dir)) {
    const metaPath = join(dir, sid, 'meta.json');
    if (!existsSync(metaPath)) continue;
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as RecordingMeta;
    const parts = readdirSync(join(dir, sid))
      .map((f) => /^part-(\d+)\.jsonl$/.exec(f))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    out.push({ dir: join(dir, sid), meta, parts });
  }
  return out.sort((a, b) => a.meta.startedAt.localeCompare(b.meta.startedAt));
}
