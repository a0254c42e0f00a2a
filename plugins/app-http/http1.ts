// HTTP/1.1 message heads and body framing (RFC 9112), read from and written to raw streams, so that bodies stream
// through in both directions without buffering and an upgraded connection passes byte for byte.
import type { Duplex } from 'node:stream';
import { BadParameter } from '../../core/errors.ts';
import { type StreamReader, write } from './reader.ts';

const MAX_HEAD = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A request or response head: the start line's parts and the header fields in order. */
export interface Head {
  /** Request: [method, target, version]; response: [version, status, reason]. */
  start: [string, string, string];
  headers: [string, string][];
}

/** Reads one head; null when the stream ended cleanly before one began. BadParameter on a malformed head. */
export async function readHead(r: StreamReader): Promise<Head | null> {
  const raw = await r.until('\r\n\r\n', MAX_HEAD);
  if (!raw) return null;
  const lines = raw
    .subarray(0, raw.length - 4)
    .toString('latin1')
    .split('\r\n');
  const first = lines.shift()!;
  const sp1 = first.indexOf(' ');
  const sp2 = first.indexOf(' ', sp1 + 1);
  if (sp1 < 0) throw new BadParameter('malformed start line');
  const start: Head['start'] =
    sp2 < 0
      ? [first.slice(0, sp1), first.slice(sp1 + 1), '']
      : [first.slice(0, sp1), first.slice(sp1 + 1, sp2), first.slice(sp2 + 1)];
  const headers: [string, string][] = [];
  for (const line of lines) {
    const c = line.indexOf(':');
    const name = line.slice(0, c);
    // No obsolete line folding, no bare CR/LF, no space before the colon: each is a request smuggling vector.
    if (c <= 0 || !TOKEN.test(name) || /[\r\n\0]/.test(line)) throw new BadParameter(`malformed header line`);
    headers.push([name, line.slice(c + 1).trim()]);
  }
  return { start, headers };
}

/** The head as bytes on the wire. */
export function formatHead(h: Head): string {
  const start = h.start[2] === '' && h.start[0].startsWith('HTTP/') ? `${h.start[0]} ${h.start[1]}` : h.start.join(' ');
  return `${start}\r\n${h.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

/** The values of header `name` (case-insensitive). */
export function values(h: Head, name: string): string[] {
  const n = name.toLowerCase();
  return h.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/** Whether a `Connection` header lists `token`. */
export function connectionHas(h: Head, token: string): boolean {
  return values(h, 'connection').some((v) => v.split(',').some((t) => t.trim().toLowerCase() === token));
}

/** How a body is delimited. */
export type Framing = { kind: 'none' } | { kind: 'length'; n: number } | { kind: 'chunked' } | { kind: 'close' };

/**
 * A message's body framing. Refuses what proxies and servers may read differently (RFC 9112 §6.3): both
 * Transfer-Encoding and Content-Length, differing lengths, a coding other than chunked.
 */
export function framingOf(h: Head, isRequest: boolean): Framing {
  const te = values(h, 'transfer-encoding');
  const cl = values(h, 'content-length').flatMap((v) => v.split(',').map((x) => x.trim()));
  if (te.length && cl.length) throw new BadParameter('both Transfer-Encoding and Content-Length');
  if (te.length) {
    if (te.join(',').trim().toLowerCase() !== 'chunked')
      throw new BadParameter('only chunked transfer coding is supported');
    return { kind: 'chunked' };
  }
  if (cl.length) {
    if (new Set(cl).size !== 1 || !/^\d{1,15}$/.test(cl[0]!)) throw new BadParameter('bad Content-Length');
    return { kind: 'length', n: Number(cl[0]) };
  }
  return isRequest ? { kind: 'none' } : { kind: 'close' };
}

/** The largest body sent in one write with its head when it is already buffered. */
const WITH_HEAD = 64 * 1024;

/**
 * Writes a message's `head`, then copies its body of `framing` from `r` (see copyBody); returns the body's bytes. A
 * small body that is all buffered goes in the same write as the head: one TLS record and one tunnel frame per hop.
 */
export async function relayMessage(head: string, r: StreamReader, out: Duplex, framing: Framing): Promise<number> {
  const body = framing.kind === 'length' && framing.n <= WITH_HEAD ? r.takeBuffered(framing.n) : undefined;
  if (body) {
    await write(out, Buffer.concat([Buffer.from(head, 'latin1'), body]));
    return body.length;
  }
  await write(out, Buffer.from(head, 'latin1'));
  return copyBody(r, out, framing);
}

/** Copies one body of `framing` from `r` to `out` as is (chunk framing included); returns the bytes copied. */
export async function copyBody(r: StreamReader, out: Duplex, framing: Framing): Promise<number> {
  let n = 0;
  const copy = async (len: number) => {
    for (let left = len; left > 0; ) {
      const b = await r.some(Math.min(left, 65_536));
      if (!b) throw new BadParameter('the body ended early');
      await write(out, b);
      left -= b.length;
      n += b.length;
    }
  };
  if (framing.kind === 'length') await copy(framing.n);
  else if (framing.kind === 'close') {
    for (let b = await r.some(65_536); b; b = await r.some(65_536)) {
      await write(out, b);
      n += b.length;
    }
  } else if (framing.kind === 'chunked') {
    for (;;) {
      const line = await r.until('\r\n', 1024);
      if (!line) throw new BadParameter('the chunked body ended early');
      await write(out, line);
      const size = Number.parseInt(line.toString('latin1').split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new BadParameter('bad chunk size');
      if (size === 0) {
        // Trailers, then the empty line.
        for (let t = await r.until('\r\n', 8192); t; t = await r.until('\r\n', 8192)) {
          await write(out, t);
          if (t.length === 2) break;
        }
        return n;
      }
      await copy(size);
      const crlf = await r.until('\r\n', 2);
      if (crlf?.toString('latin1') !== '\r\n') throw new BadParameter('chunk not followed by CRLF');
      await write(out, '\r\n');
    }
  }
  return n;
}

/** Pipes everything left from `r` to `out` (an upgraded connection), then ends `out`. */
export async function pipeRest(r: StreamReader, out: Duplex): Promise<void> {
  for (let b = await r.some(65_536); b; b = await r.some(65_536)) await write(out, b);
  out.end();
}
