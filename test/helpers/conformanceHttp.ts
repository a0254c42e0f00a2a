// What the conformance harnesses of plugins reached by TLS server name (kube, web app hosts) share: TLS to the proxy
// with a server name and ALPN http/1.1, one HTTP/1.1 request and its whole answer (read no further than its end,
// so the next exchange on the connection starts clean), and the answer in the default framing's terms.
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { ConformanceAnswer, TlsCreds } from '../../core/plugin/conformance.ts';

/** One HTTP/1.1 answer as read off the wire. */
export interface HttpAnswer {
  status: number;
  /** Header names lowercased. */
  headers: Record<string, string>;
  body: string;
}

/** Opens TLS to the proxy at `addr` for `servername`, offering http/1.1 as kubectl and browsers do. */
export function openSni(addr: string, ca: string[], servername: string, creds?: TlsCreds): Promise<TLSSocket> {
  const [host, port] = addr.split(':');
  const sock = tlsConnect({
    host,
    port: Number(port),
    servername,
    ca,
    ...creds,
    ALPNProtocols: ['http/1.1'],
    checkServerIdentity: () => undefined,
  });
  return new Promise((resolve, reject) => {
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/**
 * Writes `request` (a whole HTTP/1.1 request) and reads one answer framed by Content-Length (or by the connection's
 * end); the socket is left paused just past it. Rejects after 10 s or when the connection ends without an answer.
 */
export function httpExchange(sock: TLSSocket, request: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`no HTTP answer in 10 s; got ${JSON.stringify(`${buf}`)}`)),
      10_000,
    );
    const finish = (err?: Error, answer?: HttpAnswer, rest?: Buffer) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.pause();
      if (rest?.length) sock.unshift(rest);
      if (err) reject(err);
      else resolve(answer!);
    };
    const parse = (ended: boolean) => {
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return ended ? finish(new Error(`the connection ended mid-answer: ${buf}`)) : undefined;
      const [start, ...lines] = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(start ?? '')?.[1]);
      const headers: Record<string, string> = {};
      for (const l of lines)
        headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const length = headers['content-length'];
      const bodyStart = headEnd + 4;
      if (length === undefined && !ended) return;
      const end = length === undefined ? buf.length : bodyStart + Number(length);
      if (buf.length < end) return ended ? finish(new Error(`the connection ended mid-body: ${buf}`)) : undefined;
      finish(undefined, { status, headers, body: buf.subarray(bodyStart, end).toString() }, buf.subarray(end));
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      parse(false);
    };
    const onEnd = () => parse(true);
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.write(request);
    sock.resume();
  });
}

/** The default framing's code for an HTTP refusal status (401 unauthenticated, 403 access_denied ...). */
const CODES: Record<number, string> = {
  400: 'bad_parameter',
  401: 'unauthenticated',
  403: 'access_denied',
  404: 'not_found',
  423: 'locked',
  429: 'limit_exceeded',
  502: 'unavailable',
  503: 'unavailable',
};

/**
 * An HTTP answer in the default framing's terms: 2xx is `{ok: true}`, a refusal is its status's code with the body
 * as message. `loginRedirect` says which redirects send the client to log in (an `unauthenticated` refusal).
 */
export function answerOf(a: HttpAnswer, loginRedirect?: RegExp): ConformanceAnswer {
  if (a.status >= 200 && a.status < 300) return { ok: true };
  if (a.status >= 300 && a.status < 400 && loginRedirect?.test(a.headers.location ?? ''))
    return { ok: false, error: { code: 'unauthenticated', message: `redirected to ${a.headers.location}` } };
  return { ok: false, error: { code: CODES[a.status] ?? `http_${a.status}`, message: a.body.trim() } };
}
