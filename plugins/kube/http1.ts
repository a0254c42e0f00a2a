// HTTP/1.1 message heads read straight off a byte stream (no node:http): the kube agent rewrites each request kubectl
// sends, and upgraded connections (exec, port-forward) must carry on byte for byte after the head.
import type { Duplex } from 'node:stream';
import { BadParameter, Cancelled, LimitExceeded } from '../../core/errors.ts';

/** One request or response head: the start line's three parts and the header fields in order. */
export interface MessageHead {
  /** Request: method; response: HTTP version. */
  first: string;
  /** Request: target; response: status code. */
  second: string;
  /** Request: HTTP version; response: reason phrase. */
  third: string;
  headers: [string, string][];
}

const END = Buffer.from('\r\n\r\n');

/** Reads a stream in pieces its caller chooses: heads, exact byte counts, and what is left for raw forwarding. */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error) => {
    this.failure = err;
    this.notify();
  };

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async more(signal?: AbortSignal): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.ended) return false;
    if (signal?.aborted) throw new Cancelled('the session ended');
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    if (signal?.aborted) throw new Cancelled('the session ended');
    return true;
  }

  /** The next head, or undefined when the stream ended cleanly before one began. Throws past `max` bytes. */
  async head(max: number, signal?: AbortSignal): Promise<MessageHead | undefined> {
    for (;;) {
      const at = this.buf.indexOf(END);
      if (at >= 0) {
        const text = this.buf.subarray(0, at).toString('latin1');
        this.buf = this.buf.subarray(at + END.length);
        return parseHead(text);
      }
      if (this.buf.length > max) throw new LimitExceeded(`an HTTP head is larger than ${max} bytes`);
      if (!(await this.more(signal))) {
        if (this.buf.length === 0) return undefined;
        throw new BadParameter('the connection ended inside an HTTP head');
      }
    }
  }

  /** Up to `n` bytes (at least one), or undefined at the end of the stream. */
  async some(n: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    while (this.buf.length === 0) if (!(await this.more(signal))) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** One CRLF-terminated line (without the CRLF), for chunked framing. */
  async line(max: number, signal?: AbortSignal): Promise<string> {
    for (;;) {
      const at = this.buf.indexOf('\r\n');
      if (at >= 0) {
        const text = this.buf.subarray(0, at).toString('latin1');
        this.buf = this.buf.subarray(at + 2);
        return text;
      }
      if (this.buf.length > max) throw new LimitExceeded(`a chunk line is longer than ${max} bytes`);
      if (!(await this.more(signal))) throw new BadParameter('the connection ended inside a chunked body');
    }
  }

  /** Stops reading and returns the bytes read but not yet taken: the caller pipes the stream itself from here. */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

/** Parses a head's text (start line and fields); BadParameter on a malformed one. */
export function parseHead(text: string): MessageHead {
  const lines = text.split('\r\n');
  const start = lines.shift() ?? '';
  const m = /^(\S+) (\S+) ?(.*)$/.exec(start);
  if (!m) throw new BadParameter('malformed HTTP start line');
  const headers: [string, string][] = [];
  for (const line of lines) {
    const c = line.indexOf(':');
    if (c <= 0 || /[\s]/.test(line.slice(0, c))) throw new BadParameter('malformed HTTP header field');
    headers.push([line.slice(0, c), line.slice(c + 1).trim()]);
  }
  return { first: m[1]!, second: m[2]!, third: m[3] ?? '', headers };
}

/** The value of a header (the first, case-insensitively), or undefined. */
export function header(h: MessageHead, name: string): string | undefined {
  const n = name.toLowerCase();
  return h.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

/** Every value of a header, split at commas. */
export function headerList(h: MessageHead, name: string): string[] {
  const n = name.toLowerCase();
  return h.headers
    .filter(([k]) => k.toLowerCase() === n)
    .flatMap(([, v]) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A head's bytes as they go on the wire. */
export function formatHead(h: MessageHead): Buffer {
  const lines = [`${h.first} ${h.second} ${h.third}`.trimEnd(), ...h.headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Whether the request asks to switch protocols (WebSocket or SPDY), from its `Connection` and `Upgrade` fields. */
export function isUpgrade(h: MessageHead): boolean {
  return headerList(h, 'connection').some((t) => t.toLowerCase() === 'upgrade') && !!header(h, 'upgrade');
}

/** Copies a request body as framed by its head (Content-Length or chunked) from `r` to `out`, bytes unchanged. */
export async function copyBody(h: MessageHead, r: ByteReader, out: Duplex, signal?: AbortSignal): Promise<void> {
  const te = header(h, 'transfer-encoding');
  if (te && te.toLowerCase() !== 'identity') {
    if (te.toLowerCase() !== 'chunked') throw new BadParameter(`unsupported Transfer-Encoding "${te}"`);
    for (;;) {
      const line = await r.line(4096, signal);
      out.write(`${line}\r\n`);
      const size = Number.parseInt(line.split(';')[0]!, 16);
      if (!Number.isFinite(size) || size < 0) throw new BadParameter('malformed chunk size');
      if (size === 0) {
        // Trailer fields, then the empty line.
        for (;;) {
          const t = await r.line(4096, signal);
          out.write(`${t}\r\n`);
          if (t === '') return;
        }
      }
      await copyExact(r, out, size + 2, signal);
    }
  }
  const cl = header(h, 'content-length');
  if (cl === undefined) return;
  if (!/^\d{1,15}$/.test(cl)) throw new BadParameter('malformed Content-Length');
  await copyExact(r, out, Number(cl), signal);
}

async function copyExact(r: ByteReader, out: Duplex, n: number, signal?: AbortSignal): Promise<void> {
  let left = n;
  while (left > 0) {
    const b = await r.some(left, signal);
    if (!b) throw new BadParameter('the connection ended inside a request body');
    out.write(b);
    left -= b.length;
  }
}
