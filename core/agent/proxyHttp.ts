// HTTP/1.1 to the proxy on Bun's native TLS sockets, the ones the reverse tunnel already runs on: an idle agent's
// control calls (state long polls, heartbeats, events, recordings) then keep no HTTP client of fetch's resident
// (measured: fetch's costs an idle agent ~2 MiB of its own memory and ~2-4 MiB more of the runtime's code pages).
// Requests carry JSON with a length; answers may come with a length, chunked, or up to the close. Connections
// are kept alive and reused, at most a few idle at a time.
import type { EventEmitter } from 'node:events';
import { BadParameter, Unavailable } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import type { ServerRole } from '../net/serverRole.ts';
import { connectTls } from '../tunnel/bunTls.ts';
import type { ByteStream } from '../tunnel/byteStream.ts';

/** Idle connections kept for the next request (a long poll and a heartbeat may overlap). */
const MAX_IDLE = 2;
/** The largest answer taken (a state snapshot of a big cluster is a few MiB). */
const MAX_ANSWER_BYTES = 64 * 2 ** 20;

/** The credentials one request goes out with. */
export interface HttpTls {
  ca: string | string[];
  cert: string;
  key: string;
  serverRole?: ServerRole;
}

/** One request. */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** One answer: its status and its body as text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

type Socket = ByteStream & EventEmitter;

/** The parse of an answer so far; `done` once the whole answer is in. */
interface Parsed {
  status: number;
  body: Buffer;
  keepAlive: boolean;
}

/** Parses one HTTP/1.1 answer from `buf`; undefined while incomplete (`closed`: no more bytes will come). */
export function parseAnswer(buf: Buffer, closed: boolean): Parsed | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (closed) throw new Unavailable('the proxy closed the connection before answering');
    return undefined;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!status) throw new Unavailable(`the proxy answered something other than HTTP/1.1: ${lines[0]?.slice(0, 40)}`);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  const code = Number(status[1]);
  const keepAlive = !/\bclose\b/i.test(headers.get('connection') ?? '') && lines[0]!.startsWith('HTTP/1.1');
  const rest = buf.subarray(end + 4);
  if (code === 204 || code === 304) return { status: code, body: Buffer.alloc(0), keepAlive };
  if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) {
    const body = dechunk(rest);
    if (!body && closed) throw new Unavailable('the proxy closed the connection mid-answer');
    return body && { status: code, body, keepAlive };
  }
  const length = headers.get('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (!Number.isSafeInteger(n) || n < 0) throw new Unavailable(`the proxy sent a bad content-length: ${length}`);
    if (rest.length < n) {
      if (closed) throw new Unavailable('the proxy closed the connection mid-answer');
      return undefined;
    }
    return { status: code, body: rest.subarray(0, n), keepAlive };
  }
  // Neither a length nor chunks: the body runs to the close, and the connection cannot be reused.
  return closed ? { status: code, body: rest, keepAlive: false } : undefined;
}

/** A chunked body's bytes once its last chunk is in; undefined before. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Unavailable('the proxy sent a bad chunk size');
    // The last chunk, then trailers (if any) up to an empty line.
    if (size === 0) return buf.indexOf('\r\n\r\n', eol) >= 0 ? Buffer.concat(parts) : undefined;
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** The request's bytes; a header name or value that would break the framing is refused. */
function encode(server: string, r: HttpRequest): Buffer {
  if (/\s/.test(r.path)) throw new BadParameter(`bad request path ${JSON.stringify(r.path)}`);
  const head = [`${r.method} ${r.path} HTTP/1.1`, `host: ${server}`];
  const headers: Record<string, string> = { ...r.headers };
  if (r.body !== undefined) headers['content-type'] ??= 'application/json';
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  headers['content-length'] = String(body?.length ?? 0);
  for (const [k, v] of Object.entries(headers)) {
    if (/[\s:]/.test(k) || /[\r\n]/.test(v)) throw new BadParameter(`bad request header ${JSON.stringify(k)}`);
    head.push(`${k}: ${v}`);
  }
  const bytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([bytes, body]) : bytes;
}

/**
 * A client for one proxy (`host:port`): each request on a kept-alive connection or a new one (mutual TLS with
 * `tls()`, ALPN http/1.1). A request on a reused connection that the proxy had closed meanwhile (no byte of answer)
 * goes once more on a new one. Errors are Unavailable (WrongServer for a server that is not the role asked for).
 */
export class ProxyHttp {
  private readonly idle: { sock: Socket; unpark: () => void }[] = [];
  private closed = false;

  constructor(
    private readonly server: string,
    private readonly tls: () => HttpTls,
  ) {}

  /** Sends `r` and returns the proxy's answer. */
  async send(r: HttpRequest): Promise<HttpAnswer> {
    const bytes = encode(this.server, r);
    const reused = this.idle.pop();
    if (reused) {
      reused.unpark();
      const a = await this.exchange(reused.sock, bytes, r).catch((err: unknown) => {
        if (err instanceof StaleConnection) return undefined;
        throw err;
      });
      if (a) return a;
    }
    return (await this.exchange(await this.dial(), bytes, r))!;
  }

  /** Drops the idle connections (new credentials, or the agent stops); `stop` also refuses later requests. */
  reset(stop = false): void {
    this.closed ||= stop;
    for (const { sock, unpark } of this.idle.splice(0)) {
      unpark();
      sock.destroy();
    }
  }

  private async dial(): Promise<Socket> {
    if (this.closed) throw new Unavailable('the agent is shutting down');
    const [host, port] = parseHostPort(this.server);
    const t = this.tls();
    return connectTls({
      host,
      port,
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      alpn: 'http/1.1',
      serverRole: t.serverRole,
      serverName: /^[\d.]+$/.test(host) ? undefined : host,
    });
  }

  /** One request and its answer on `sock`; the socket goes back to the idle list if it may be reused. */
  private exchange(sock: Socket, bytes: Buffer, r: HttpRequest): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      let settled = false;
      const finish = (err: Error | undefined, answer?: Parsed) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        r.signal?.removeEventListener('abort', onAbort);
        sock.off('data', onData);
        sock.off('close', onClose);
        if (err || !answer) {
          sock.destroy();
          return reject(err);
        }
        if (answer.keepAlive && !this.closed && this.idle.length < MAX_IDLE) this.park(sock);
        else sock.destroy();
        resolve({ status: answer.status, text: answer.body.toString('utf8') });
      };
      const step = (closed: boolean) => {
        try {
          const answer = parseAnswer(buf, closed);
          if (answer) finish(undefined, answer);
        } catch (err) {
          finish(closed && buf.length === 0 ? new StaleConnection() : (err as Error));
        }
      };
      const onData = (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (buf.length > MAX_ANSWER_BYTES) return finish(new Unavailable('the proxy answered more than 64 MiB'));
        step(false);
      };
      const onClose = () => step(true);
      const onAbort = () => finish(new Unavailable('request cancelled'));
      const timer = setTimeout(
        () => finish(new Unavailable(`the proxy did not answer ${r.method} ${r.path} within ${r.timeoutMs} ms`)),
        r.timeoutMs,
      );
      if (r.signal?.aborted) return onAbort();
      r.signal?.addEventListener('abort', onAbort, { once: true });
      sock.on('data', onData);
      sock.on('close', onClose);
      sock.write(bytes);
    });
  }

  /** Keeps an idle connection until it is reused or the proxy closes it (or sends something unasked). */
  private park(sock: Socket): void {
    const unpark = () => {
      sock.off('data', drop);
      sock.off('close', drop);
    };
    const drop = () => {
      unpark();
      const i = this.idle.findIndex((e) => e.sock === sock);
      if (i >= 0) this.idle.splice(i, 1);
      sock.destroy();
    };
    sock.on('data', drop);
    sock.on('close', drop);
    this.idle.push({ sock, unpark });
  }
}

/** A reused connection the proxy had already closed: the request goes again on a new one. */
class StaleConnection extends Unavailable {
  constructor() {
    super('the kept-alive connection was closed by the proxy');
  }
}
